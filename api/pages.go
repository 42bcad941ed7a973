package api

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/web"
	"github.com/csp-onboarding/onboarding/workflows"
)

type pageRenderer struct {
	pages map[string]*template.Template
}

func newPageRenderer() *pageRenderer {
	r := &pageRenderer{pages: map[string]*template.Template{}}
	for _, name := range []string{"invitation", "consent", "result", "mailbox", "mailbox-login"} {
		r.pages[name] = template.Must(template.ParseFS(web.Templates, "templates/layout.html", "templates/"+name+".html"))
	}
	return r
}

func (r *pageRenderer) render(c echo.Context, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := r.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// resultPage is a page with one message: a confirmation or why a link no longer works.
type resultPage struct {
	Title string
	Text  string
	Next  string
	code  string
	state string
}

// linkAnswer answers a link's visitor: a page for a person, JSON for a client.
func (s *Server) linkAnswer(c echo.Context, status int, page resultPage) error {
	if wantsJSON(c) {
		if status < 400 {
			return c.JSON(status, map[string]string{"status": page.state})
		}
		return problem(status, page.code, page.Text)
	}
	return s.pages.render(c, status, "result", page)
}

func wantsJSON(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "application/json")
}

var (
	unknownLink = resultPage{Title: "This link is not valid", code: CodeNotFound,
		Text: "We could not find what this link points to. Check that you opened the whole link from the e-mail.",
		Next: "If it still does not work, ask the partner who wrote to you to send it again."}
	expiredLink = resultPage{Title: "This request has expired", code: CodeTokenExpired,
		Text: "The time to answer is over.",
		Next: "Ask the partner who wrote to you to send a new request."}
)

func usedLink(status string) resultPage {
	p := resultPage{Title: "This invitation was already answered", code: CodeTokenUsed, Text: "Nothing else is needed from you."}
	switch status {
	case models.InvitationAccepted, models.InvitationCompleted:
		p.Text = "You accepted this invitation. Nothing else is needed from you."
	case models.InvitationDeclined:
		p.Text = "You declined this invitation. Nothing else is needed from you."
	case models.InvitationCancelled:
		p.Title, p.Text = "This invitation was withdrawn", "The partner withdrew this invitation; nothing is needed from you."
	case models.InvitationFailed:
		p.Title, p.Text = "This invitation could not be completed", "The partner who invited you has been told and will contact you."
	}
	return p
}

// lookupLink finds the link row of a token for the purpose.
func (s *Server) lookupLink(c echo.Context, purpose string) (models.LinkToken, bool) {
	token := c.Param("token")
	if len(token) < 20 || len(token) > 100 {
		return models.LinkToken{}, false
	}
	t, err := s.store.LinkToken(c.Request().Context(), secret.Hash(token))
	return t, err == nil && t.Purpose == purpose
}

// openInvitationLink resolves a link token to a still-open invitation, or to
// the page explaining why it is not.
func (s *Server) openInvitationLink(c echo.Context) (models.Invitation, int, *resultPage) {
	t, ok := s.lookupLink(c, models.LinkPurposeInvitation)
	if !ok {
		return models.Invitation{}, http.StatusNotFound, &unknownLink
	}
	inv, err := s.store.Invitation(c.Request().Context(), t.SubjectID)
	if err != nil {
		return inv, http.StatusNotFound, &unknownLink
	}
	if inv.Status == models.InvitationExpired || (inv.Status == models.InvitationWaitingForCustomer && time.Now().After(t.ExpiresAt)) {
		return inv, http.StatusGone, &expiredLink
	}
	if t.UsedAt != nil || inv.Status != models.InvitationWaitingForCustomer {
		p := usedLink(inv.Status)
		return inv, http.StatusGone, &p
	}
	return inv, http.StatusOK, nil
}

type invitationPageData struct {
	Title          string
	Token          string
	Reseller       string
	Provider       string
	Company        string
	Email          string
	Message        string
	DelegatedAdmin *models.DelegatedAdminRequest
	ExpiresAt      string
}

// invitationPage shows the invitation. A GET never changes anything: mail
// scanners open links.
func (s *Server) invitationPage(c echo.Context) error {
	inv, status, closed := s.openInvitationLink(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed)
	}
	ctx := c.Request().Context()
	reseller, err := s.store.Partner(ctx, inv.ResellerID)
	if err != nil {
		return err
	}
	provider, err := s.store.Partner(ctx, inv.ProviderID)
	if err != nil {
		return err
	}
	return s.pages.render(c, http.StatusOK, "invitation", invitationPageData{
		Title: reseller.Name + " invites you", Token: c.Param("token"), Reseller: reseller.Name, Provider: provider.Name,
		Company: inv.CustomerCompany, Email: inv.CustomerEmail,
		Message:        strings.ReplaceAll(inv.Message, "{{link}}", "(this page)"),
		DelegatedAdmin: inv.DelegatedAdmin, ExpiresAt: inv.ExpiresAt.UTC().Format("2 January 2006 15:04"),
	})
}

// answerInvitationPage handles the Accept and Decline buttons (and JSON clients).
func (s *Server) answerInvitationPage(c echo.Context) error {
	inv, status, closed := s.openInvitationLink(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed)
	}
	update, done := workflows.UpdateAccept, resultPage{Title: "Thank you: invitation accepted", state: models.InvitationAccepted,
		Text: "The reseller relationship is being set up now. Both partners are told when it is in place."}
	if strings.HasSuffix(c.Path(), "/decline") {
		update, done = workflows.UpdateDecline, resultPage{Title: "Invitation declined", state: models.InvitationDeclined,
			Text: "You declined the invitation. The partner is told; nothing else happens."}
	}
	return s.answerLink(c, inv.WorkflowID, update, done, func() (resultPage, error) {
		fresh, err := s.store.Invitation(c.Request().Context(), inv.ID)
		return usedLink(fresh.Status), err
	})
}

// answerLink sends a customer's answer to its workflow and explains a refusal:
// expired, or already answered (used() says how).
func (s *Server) answerLink(c echo.Context, workflowID, update string, done resultPage, used func() (resultPage, error)) error {
	answer := workflows.Answer{IP: c.RealIP(), UserAgent: truncate(c.Request().UserAgent(), 300)}
	var result string
	if err := s.update(c.Request().Context(), workflowID, update, &result, answer); err != nil {
		var app *temporal.ApplicationError
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &app) && app.Type() == workflows.ErrTypeExpired:
			return s.linkAnswer(c, http.StatusGone, expiredLink)
		case errors.As(err, &app) && app.Type() == workflows.ErrTypeAlreadyDecided, errors.As(err, &nf):
			page, uerr := used()
			if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
				return uerr
			}
			return s.linkAnswer(c, http.StatusGone, page)
		}
		return err
	}
	return s.linkAnswer(c, http.StatusOK, done)
}

// openConsentLink resolves a consent token to an extension still waiting for
// consent, or to the page explaining why it is not.
func (s *Server) openConsentLink(c echo.Context) (models.RelationshipExtension, int, *resultPage) {
	t, ok := s.lookupLink(c, models.LinkPurposeConsent)
	if !ok {
		return models.RelationshipExtension{}, http.StatusNotFound, &unknownLink
	}
	x, err := s.store.Extension(c.Request().Context(), t.SubjectID)
	if err != nil {
		return x, http.StatusNotFound, &unknownLink
	}
	if x.Status == models.ExtensionExpired || (x.Status == models.ExtensionWaitingForConsent && time.Now().After(t.ExpiresAt)) {
		return x, http.StatusGone, &expiredLink
	}
	if t.UsedAt != nil || x.Status != models.ExtensionWaitingForConsent || x.ConsentID != nil {
		p := usedConsentLink(x)
		return x, http.StatusGone, &p
	}
	return x, http.StatusOK, nil
}

func usedConsentLink(x models.RelationshipExtension) resultPage {
	p := resultPage{Title: "This consent request was already answered", code: CodeTokenUsed, Text: "Nothing else is needed from you."}
	switch {
	case x.Status == models.ExtensionConsentDeclined:
		p.Text = "You declined. Nothing was shared and nothing else is needed from you."
	case x.Status == models.ExtensionCancelled:
		p.Title, p.Text = "This request was withdrawn", "The partner withdrew this request; nothing was shared."
	case x.ConsentID != nil || x.Status == models.ExtensionCompleted:
		p.Text = "You gave your consent. Nothing else is needed from you."
	}
	return p
}

type consentPageData struct {
	Title     string
	Token     string
	Reseller  string
	Provider  string
	Company   string
	Text      string
	ExpiresAt string
}

// consentPage shows exactly what the customer consents to. A GET changes nothing.
func (s *Server) consentPage(c echo.Context) error {
	x, status, closed := s.openConsentLink(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed)
	}
	ctx := c.Request().Context()
	customer, err := s.store.Customer(ctx, x.CustomerID)
	if err != nil {
		return err
	}
	reseller, err := s.store.Partner(ctx, x.ResellerID)
	if err != nil {
		return err
	}
	provider, err := s.store.Partner(ctx, x.ProviderID)
	if err != nil {
		return err
	}
	billTo := models.BillTo{}
	if customer.BillTo != nil {
		billTo = *customer.BillTo
	}
	return s.pages.render(c, http.StatusOK, "consent", consentPageData{
		Title: reseller.Name + " asks for your consent", Token: c.Param("token"), Reseller: reseller.Name, Provider: provider.Name,
		Company: customer.CompanyName, Text: models.ConsentText(reseller.Name, provider.Name, customer.CompanyName, billTo),
		ExpiresAt: x.ExpiresAt.UTC().Format("2 January 2006 15:04"),
	})
}

// answerConsentPage handles the Consent and Decline buttons (and JSON clients).
func (s *Server) answerConsentPage(c echo.Context) error {
	x, status, closed := s.openConsentLink(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed)
	}
	update, done := workflows.UpdateConsent, resultPage{Title: "Thank you: consent given", state: "consent_given",
		Text: "Your consent is recorded. The partners are told, and the relationship is set up now."}
	if strings.HasSuffix(c.Path(), "/decline") {
		update, done = workflows.UpdateDecline, resultPage{Title: "You declined", state: models.ExtensionConsentDeclined,
			Text: "Nothing is shared and no relationship is created. The partner is told."}
	}
	return s.answerLink(c, x.WorkflowID, update, done, func() (resultPage, error) {
		fresh, err := s.store.Extension(c.Request().Context(), x.ID)
		return usedConsentLink(fresh), err
	})
}

// mailboxCookie holds a hash of the admin token (never the token itself)
// once an operator signed in to the dev mailbox.
const mailboxCookie = "dev_mailbox"

// mailboxAllowed: the dev mailbox lists live personal links, so it takes the
// admin token, as a bearer or through the cookie its sign-in form sets.
func (s *Server) mailboxAllowed(c echo.Context) bool {
	if s.cfg.AdminToken == "" {
		return false
	}
	if key, ok := bearer(c); ok {
		return secret.Equal(key, s.cfg.AdminToken)
	}
	ck, err := c.Cookie(mailboxCookie)
	return err == nil && secret.Equal(ck.Value, secret.Hash(s.cfg.AdminToken))
}

// devMailboxLogin checks the admin token from the sign-in form and sets the
// mailbox cookie: HttpOnly, SameSite=Strict, scoped to the mailbox.
func (s *Server) devMailboxLogin(c echo.Context) error {
	token := strings.TrimSpace(c.FormValue("token"))
	if s.cfg.AdminToken == "" || !secret.Equal(token, s.cfg.AdminToken) {
		return s.pages.render(c, http.StatusUnauthorized, "mailbox-login", map[string]any{"Title": "Dev mailbox", "Failed": true})
	}
	c.SetCookie(&http.Cookie{Name: mailboxCookie, Value: secret.Hash(s.cfg.AdminToken), Path: "/dev/mailbox",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.PublicBaseURL, "https://")})
	return c.Redirect(http.StatusSeeOther, "/dev/mailbox")
}

// devMailbox lists the e-mails kept in the outbox (embedded default only).
func (s *Server) devMailbox(c echo.Context) error {
	if !s.mailboxAllowed(c) {
		return s.pages.render(c, http.StatusUnauthorized, "mailbox-login", map[string]any{"Title": "Dev mailbox"})
	}
	msgs, err := s.store.Messages(c.Request().Context(), 100)
	if err != nil {
		return err
	}
	return s.pages.render(c, http.StatusOK, "mailbox", map[string]any{"Title": "Dev mailbox", "Messages": msgs})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
