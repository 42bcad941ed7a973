package api

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/i18n"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/web"
	"github.com/csp-onboarding/onboarding/workflows"
)

// pageStore is what the customers' link pages and the dev mailbox read.
type pageStore interface {
	Customer(ctx context.Context, id string) (models.Customer, error)
	DelegatedAdminForRelationship(ctx context.Context, relationshipID string) (models.DelegatedAdminRelationship, error)
	Extension(ctx context.Context, id string) (models.RelationshipExtension, error)
	Invitation(ctx context.Context, id string) (models.Invitation, error)
	LinkToken(ctx context.Context, hash string) (models.LinkToken, error)
	Messages(ctx context.Context, limit int) ([]models.OutboxMessage, error)
	Partner(ctx context.Context, id string) (models.Partner, error)
}

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

// resultPage is a page with one message: a confirmation or why a link no
// longer works. Its texts are catalogue keys, shown in the page's language.
type resultPage struct {
	title string
	text  string
	next  string
	code  oapi.ProblemCode
	state string
	// approvalLink: Microsoft's page where the customer's admin approves
	// the delegated admin access still waiting (MICROSOFT_MODE live or simulated).
	approvalLink string
	// microsoftLink: Microsoft's page where the customer's admin accepts the
	// reseller relationship, while the invitation waits for it there.
	microsoftLink string
}

type resultView struct {
	L             *i18n.Localizer
	Title         string
	Text          string
	Next          string
	ApprovalLink  string
	MicrosoftLink string
}

// linkAnswer answers a link's visitor: a page in the customer's language for
// a person, JSON (in English, like the rest of the API) for a client.
func (s *Server) linkAnswer(c echo.Context, status int, page resultPage, locale string) error {
	if wantsJSON(c) {
		if status < 400 {
			return c.JSON(status, map[string]string{"status": page.state})
		}
		return problem(status, page.code, i18n.For(i18n.Default).MustT(page.text, nil))
	}
	z := i18n.For(pageLocale(c, locale))
	v := resultView{L: z, Title: z.MustT(page.title, nil), Text: z.MustT(page.text, nil)}
	if page.next != "" {
		v.Next = z.MustT(page.next, nil)
	}
	if page.approvalLink != "" {
		v.Next, v.ApprovalLink = z.MustT("result_gdap_pending_text", nil), page.approvalLink
	}
	if page.microsoftLink != "" {
		v.Next, v.MicrosoftLink = z.MustT("result_msaccept_text", nil), page.microsoftLink
	}
	return s.pages.render(c, status, "result", v)
}

// pageLocale is the onboarding's language, or for a link we cannot resolve,
// the browser's (Accept-Language).
func pageLocale(c echo.Context, stored string) string {
	if i18n.Valid(stored) {
		return stored
	}
	return i18n.FromAcceptLanguage(c.Request().Header.Get("Accept-Language"))
}

func wantsJSON(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "application/json")
}

var (
	unknownLink = resultPage{title: "result_unknown_title", code: CodeNotFound, text: "result_unknown_text", next: "result_unknown_next"}
	// A database that could not be read says nothing about the link: try again.
	unavailableLink = resultPage{title: "result_unavailable_title", code: CodeUnavailable, text: "result_unavailable_text", next: "result_unavailable_next"}
	supersededLink  = resultPage{title: "result_superseded_title", code: CodeTokenUsed, text: "result_superseded_text", next: "result_superseded_next"}
	expiredLink     = resultPage{title: "result_expired_title", code: CodeTokenExpired, text: "result_expired_text", next: "result_expired_next"}
)

func usedLink(status string) resultPage {
	p := resultPage{title: "result_invitation_used_title", code: CodeTokenUsed, text: "result_nothing_needed"}
	switch status {
	case models.InvitationAccepted, models.InvitationWaitingForPartnerCenter, models.InvitationCompleted:
		p.text = "result_invitation_used_accepted"
	case models.InvitationDeclined:
		p.text = "result_invitation_used_declined"
	case models.InvitationCancelled:
		p.title, p.text = "result_invitation_withdrawn_title", "result_invitation_withdrawn_text"
	case models.InvitationFailed:
		p.title, p.text = "result_invitation_failed_title", "result_invitation_failed_text"
	}
	return p
}

// lookupLink finds the link row of a token for the purpose. A failed read
// is not an unknown link: it answers 503 (try again), not 404.
func (s *Server) lookupLink(c echo.Context, purpose string) (models.LinkToken, int, *resultPage) {
	token := c.Param("token")
	if len(token) < 20 || len(token) > 100 {
		return models.LinkToken{}, http.StatusNotFound, &unknownLink
	}
	t, err := s.store.LinkToken(c.Request().Context(), secret.Hash(token))
	if status, page := linkReadFailed(err); page != nil {
		return t, status, page
	}
	if t.Purpose != purpose {
		return t, http.StatusNotFound, &unknownLink
	}
	return t, http.StatusOK, nil
}

// linkReadFailed turns a failed read behind a link into its page: not found
// is an unknown link; anything else is ours, and worth another try.
func linkReadFailed(err error) (int, *resultPage) {
	switch {
	case err == nil:
		return http.StatusOK, nil
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, &unknownLink
	}
	return http.StatusServiceUnavailable, &unavailableLink
}

// openInvitationToken resolves a link token to a still-open invitation and
// its link, or to the page explaining why it is not.
func (s *Server) openInvitationToken(c echo.Context) (models.Invitation, models.LinkToken, int, *resultPage) {
	t, status, page := s.lookupLink(c, models.LinkPurposeInvitation)
	if page != nil {
		return models.Invitation{}, t, status, page
	}
	inv, err := s.store.Invitation(c.Request().Context(), t.SubjectID)
	if status, page := linkReadFailed(err); page != nil {
		return inv, t, status, page
	}
	if inv.Status == models.InvitationExpired || (inv.Status == models.InvitationWaitingForCustomer && time.Now().After(t.ExpiresAt)) {
		return inv, t, http.StatusGone, &expiredLink
	}
	if t.SupersededAt != nil && inv.Status == models.InvitationWaitingForCustomer {
		return inv, t, http.StatusGone, &supersededLink
	}
	if t.UsedAt != nil || inv.Status != models.InvitationWaitingForCustomer {
		p := usedLink(inv.Status)
		p.approvalLink = s.pendingApprovalLink(c, inv)
		if waitsAtMicrosoft(inv) {
			p.microsoftLink = inv.MicrosoftAcceptURL
		}
		return inv, t, http.StatusGone, &p
	}
	return inv, t, http.StatusOK, nil
}

// waitsAtMicrosoft: the customer accepted on our page and has yet to
// accept the reseller relationship at Microsoft.
func waitsAtMicrosoft(inv models.Invitation) bool {
	return inv.MicrosoftAcceptURL != "" && inv.RelationshipID == nil &&
		(inv.Status == models.InvitationWaitingForPartnerCenter || inv.Status == models.InvitationAccepted)
}

// pendingApprovalLink is Microsoft's approval link of the delegated admin
// the accepted invitation asked for, while it waits for the customer there.
func (s *Server) pendingApprovalLink(c echo.Context, inv models.Invitation) string {
	if inv.DelegatedAdmin == nil || inv.RelationshipID == nil {
		return ""
	}
	d, err := s.store.DelegatedAdminForRelationship(c.Request().Context(), *inv.RelationshipID)
	if err != nil || d.Status != models.DelegatedAdminApprovalPending || d.GraphRelationshipID == nil {
		return ""
	}
	return workflows.ApprovalLink(*d.GraphRelationshipID)
}

type invitationPageData struct {
	L           *i18n.Localizer
	SignInURL   string // set when an administrator must sign in with Microsoft before accepting
	SignedInAs  string
	Title       string
	Token       string
	Reseller    string
	Provider    string
	Company     string
	Email       string
	Message     string
	AdminAccess string
	ExpiresAt   string
}

// invitationPage shows the invitation in the customer's language. A GET never
// changes anything: mail scanners open links.
func (s *Server) invitationPage(c echo.Context) error {
	inv, link, status, closed := s.openInvitationToken(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed, inv.Locale)
	}
	ctx := c.Request().Context()
	signInURL, signedInAs := "", ""
	if s.signInRequired(inv) {
		signInURL, signedInAs = s.signInLine(c, link, "/i/", inv.Locale)
	}
	reseller, err := s.store.Partner(ctx, inv.ResellerID)
	if err != nil {
		return err
	}
	provider, err := s.store.Partner(ctx, inv.ProviderID)
	if err != nil {
		return err
	}
	z := i18n.For(inv.Locale)
	expires, err := z.DateTime(inv.ExpiresAt)
	if err != nil {
		return err
	}
	admin := z.MustT("page_admin_none", nil)
	if d := inv.DelegatedAdmin; d != nil {
		names, err := z.List(roles.Names(d.Roles))
		if err != nil {
			return err
		}
		key := "page_admin_roles"
		if d.AutoExtend {
			key = "page_admin_roles_extend"
		}
		admin = z.Text(key, "Roles", names, "Duration", z.Days(d.DurationDays), "Extend", z.Days(int(models.AutoExtendPeriod.Hours()/24)))
	}
	return s.pages.render(c, http.StatusOK, "invitation", invitationPageData{
		L: z, Title: z.Text("page_invitation_title", "Reseller", reseller.Name), Token: c.Param("token"),
		Reseller: reseller.Name, Provider: provider.Name, Company: inv.CustomerCompany, Email: inv.CustomerEmail,
		// The partner's message as written; only the link's placeholder is named.
		Message:     strings.ReplaceAll(inv.Message, "{{link}}", z.MustT("page_link_in_message", nil)),
		AdminAccess: admin, ExpiresAt: expires, SignInURL: signInURL, SignedInAs: signedInAs,
	})
}

// signInLine is a link page's sign-in line: the button's address until an
// administrator signed in for this link, then who did.
func (s *Server) signInLine(c echo.Context, link models.LinkToken, prefix, locale string) (signInURL, signedInAs string) {
	if id := s.signedInFor(c, link); id != nil {
		return "", i18n.For(locale).Text("page_signed_in_as", "Name", id.Name, "UPN", id.UPN)
	}
	return prefix + c.Param("token") + "/signin", ""
}

// answerInvitationPage handles the Accept and Decline buttons (and JSON clients).
func (s *Server) answerInvitationPage(c echo.Context) error {
	inv, link, status, closed := s.openInvitationToken(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed, inv.Locale)
	}
	update, done := workflows.UpdateAccept, resultPage{title: "result_accepted_title", state: models.InvitationAccepted, text: "result_accepted_text",
		microsoftLink: inv.MicrosoftAcceptURL}
	if inv.MicrosoftAcceptURL != "" {
		done.text = "result_accepted_ms_text"
		if s.signInRequired(inv) && s.signedInFor(c, link) == nil {
			return s.linkAnswer(c, http.StatusForbidden, signinNeeded, inv.Locale)
		}
	}
	if strings.HasSuffix(c.Path(), "/decline") {
		update, done = workflows.UpdateDecline, resultPage{title: "result_declined_title", state: models.InvitationDeclined, text: "result_declined_text"}
	}
	return s.answerLink(c, link, inv.WorkflowID, inv.Locale, update, done, func() (resultPage, error) {
		fresh, err := s.store.Invitation(c.Request().Context(), inv.ID)
		return usedLink(fresh.Status), err
	})
}

// answerLink sends a customer's answer to its workflow and explains a refusal:
// expired, or already answered (used() says how).
// The link's e-mail goes with the answer: the answer proves it arrived.
func (s *Server) answerLink(c echo.Context, link models.LinkToken, workflowID, locale, update string, done resultPage, used func() (resultPage, error)) error {
	answer := workflows.Answer{IP: c.RealIP(), UserAgent: truncate(c.Request().UserAgent(), 300), EmailKey: link.EmailKey, SignedIn: s.signedInFor(c, link)}
	var result string
	if err := s.update(c.Request().Context(), workflowID, update, &result, answer); err != nil {
		var app *temporal.ApplicationError
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &app) && app.Type() == workflows.ErrTypeExpired:
			return s.linkAnswer(c, http.StatusGone, expiredLink, locale)
		case errors.As(err, &app) && app.Type() == workflows.ErrTypeAlreadyDecided, errors.As(err, &nf):
			page, uerr := used()
			if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
				return uerr
			}
			return s.linkAnswer(c, http.StatusGone, page, locale)
		}
		return err
	}
	return s.linkAnswer(c, http.StatusOK, done, locale)
}

// openConsentLink resolves a consent token to an extension still waiting for
// consent, or to the page explaining why it is not.
func (s *Server) openConsentLink(c echo.Context) (models.RelationshipExtension, models.LinkToken, int, *resultPage) {
	t, status, page := s.lookupLink(c, models.LinkPurposeConsent)
	if page != nil {
		return models.RelationshipExtension{}, t, status, page
	}
	x, err := s.store.Extension(c.Request().Context(), t.SubjectID)
	if status, page := linkReadFailed(err); page != nil {
		return x, t, status, page
	}
	if x.Status == models.ExtensionExpired || (x.Status == models.ExtensionWaitingForConsent && time.Now().After(t.ExpiresAt)) {
		return x, t, http.StatusGone, &expiredLink
	}
	if t.UsedAt != nil || x.Status != models.ExtensionWaitingForConsent || x.ConsentID != nil {
		p := usedConsentLink(x)
		return x, t, http.StatusGone, &p
	}
	return x, t, http.StatusOK, nil
}

func usedConsentLink(x models.RelationshipExtension) resultPage {
	p := resultPage{title: "result_consent_used_title", code: CodeTokenUsed, text: "result_nothing_needed"}
	switch {
	case x.Status == models.ExtensionConsentDeclined:
		p.text = "result_consent_used_declined"
	case x.Status == models.ExtensionCancelled:
		p.title, p.text = "result_consent_withdrawn_title", "result_consent_withdrawn_text"
	case x.ConsentID != nil || x.Status == models.ExtensionCompleted:
		p.text = "result_consent_used_given"
	}
	return p
}

type consentPageData struct {
	L          *i18n.Localizer
	SignInURL  string // set when an administrator must sign in with Microsoft before consenting
	SignedInAs string
	Title      string
	Token      string
	Reseller   string
	Provider   string
	Company    string
	Text       string
	ExpiresAt  string
}

// consentPage shows exactly what the customer consents to, in the customer's
// language. A GET changes nothing.
func (s *Server) consentPage(c echo.Context) error {
	x, link, status, closed := s.openConsentLink(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed, x.Locale)
	}
	ctx := c.Request().Context()
	signInURL, signedInAs := "", ""
	if s.consentSignInRequired(x) {
		signInURL, signedInAs = s.signInLine(c, link, "/c/", x.Locale)
	}
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
	z := i18n.For(x.Locale)
	expires, err := z.DateTime(x.ExpiresAt)
	if err != nil {
		return err
	}
	return s.pages.render(c, http.StatusOK, "consent", consentPageData{
		L: z, Title: z.Text("page_consent_title", "Reseller", reseller.Name), Token: c.Param("token"), Reseller: reseller.Name, Provider: provider.Name,
		Company: customer.CompanyName, Text: models.ConsentText(x.Locale, reseller.Name, provider.Name, customer.CompanyName, billTo),
		ExpiresAt: expires, SignInURL: signInURL, SignedInAs: signedInAs,
	})
}

// answerConsentPage handles the Consent and Decline buttons (and JSON clients).
func (s *Server) answerConsentPage(c echo.Context) error {
	x, link, status, closed := s.openConsentLink(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed, x.Locale)
	}
	update, done := workflows.UpdateConsent, resultPage{title: "result_consent_given_title", state: "consent_given", text: "result_consent_given_text"}
	if strings.HasSuffix(c.Path(), "/decline") {
		update, done = workflows.UpdateDecline, resultPage{title: "result_consent_declined_title", state: models.ExtensionConsentDeclined, text: "result_consent_declined_text"}
	} else if s.consentSignInRequired(x) && s.signedInFor(c, link) == nil {
		return s.linkAnswer(c, http.StatusForbidden, consentSignin, x.Locale)
	}
	return s.answerLink(c, link, x.WorkflowID, x.Locale, update, done, func() (resultPage, error) {
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
		return s.pages.render(c, http.StatusUnauthorized, "mailbox-login", map[string]any{"L": i18n.For(i18n.Default), "Title": "Dev mailbox", "Failed": true})
	}
	c.SetCookie(&http.Cookie{Name: mailboxCookie, Value: secret.Hash(s.cfg.AdminToken), Path: "/dev/mailbox",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.PublicBaseURL, "https://")})
	return c.Redirect(http.StatusSeeOther, "/dev/mailbox")
}

// devMailbox lists the e-mails kept in the outbox (embedded default only).
func (s *Server) devMailbox(c echo.Context) error {
	if !s.mailboxAllowed(c) {
		return s.pages.render(c, http.StatusUnauthorized, "mailbox-login", map[string]any{"L": i18n.For(i18n.Default), "Title": "Dev mailbox"})
	}
	msgs, err := s.store.Messages(c.Request().Context(), 100)
	if err != nil {
		return err
	}
	// The outbox keeps {{link}} and the link only sealed: open it for display.
	for i, m := range msgs {
		if text, html, err := activities.ExpandLink(s.secrets, m); err == nil {
			msgs[i].Body, msgs[i].HTMLBody = text, html
		}
	}
	return s.pages.render(c, http.StatusOK, "mailbox", map[string]any{"L": i18n.For(i18n.Default), "Title": "Dev mailbox", "Messages": msgs})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
