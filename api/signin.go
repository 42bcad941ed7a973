package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/signin"
	"github.com/csp-onboarding/onboarding/models"
)

// Sign-in with Microsoft before accepting (MICROSOFT_MODE live or
// simulated, issue 14 item 4): the invitation page sends the customer's
// administrator to Microsoft (microsoft/signin: code flow with PKCE, state
// and nonce checked), the callback checks that the signed-in tenant is the
// customer's, and the Accept then carries who signed in to the workflow,
// which records it. The sign-in's state lives in one cookie, sealed under
// ONBOARDING_SECRET_KEY and bound to the link it was started from: any API
// replica can finish it, nothing is kept server-side, and a cookie cannot
// be forged or carried to another invitation.

const (
	signinCookie   = "onboarding_signin"
	signinLifetime = 30 * time.Minute
	signinSealAD   = "signin"
)

// signinStore is what the sign-in reads: the link it was started from, and
// its invitation or its extension's customer (whose tenant it must be).
type signinStore interface {
	LinkToken(ctx context.Context, hash string) (models.LinkToken, error)
	Invitation(ctx context.Context, id string) (models.Invitation, error)
	Extension(ctx context.Context, id string) (models.RelationshipExtension, error)
	Customer(ctx context.Context, id string) (models.Customer, error)
}

// signinSession is the cookie's content.
type signinSession struct {
	LinkHash string                  `json:"l"`
	Back     string                  `json:"b"` // the link's page, to return to
	Start    signin.Start            `json:"s"`
	Identity *models.SignedInAccount `json:"i,omitempty"`
	Expires  int64                   `json:"e"`
}

// newSigninClient is the product's sign-in app as configured; nothing is
// fetched until a customer signs in.
func newSigninClient(cfg config.Config) *signin.Client {
	m := cfg.Microsoft
	return signin.New(signin.Config{LoginURL: m.LoginURL, ClientID: m.SignInClientID, ClientSecret: m.SignInClientSecret,
		RedirectURL: strings.TrimRight(cfg.PublicBaseURL, "/") + "/signin/callback"})
}

// signInRequired: an invitation the customer also accepts at Microsoft is
// accepted by a signed-in administrator.
func (s *Server) signInRequired(inv models.Invitation) bool {
	return s.cfg.Microsoft.Mode != config.MicrosoftOff && inv.MicrosoftAcceptURL != ""
}

// consentSignInRequired: an extension made at Microsoft is consented to by
// a signed-in administrator (a customer confirmation; an attestation has no page).
func (s *Server) consentSignInRequired(x models.RelationshipExtension) bool {
	return s.cfg.Microsoft.Mode != config.MicrosoftOff && x.ResellerTenantID != "" && x.ConsentMethod == models.ConsentCustomerConfirmation
}

// invitationSignIn starts the sign-in from an open invitation link.
func (s *Server) invitationSignIn(c echo.Context) error {
	inv, link, status, closed := s.openInvitationToken(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed, inv.Locale)
	}
	if !s.signInRequired(inv) {
		return s.linkAnswer(c, http.StatusNotFound, unknownLink, inv.Locale)
	}
	return s.startSignIn(c, link, "/i/", inv.CustomerEmail, inv.Locale)
}

// consentSignIn starts the sign-in from an open consent link.
func (s *Server) consentSignIn(c echo.Context) error {
	x, link, status, closed := s.openConsentLink(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed, x.Locale)
	}
	if !s.consentSignInRequired(x) {
		return s.linkAnswer(c, http.StatusNotFound, unknownLink, x.Locale)
	}
	customer, err := s.store.Customer(c.Request().Context(), x.CustomerID)
	if status, page := linkReadFailed(err); page != nil {
		return s.linkAnswer(c, status, *page, x.Locale)
	}
	return s.startSignIn(c, link, "/c/", customer.ContactEmail, x.Locale)
}

// startSignIn sends the browser to Microsoft, the sign-in's state sealed
// in the cookie and bound to the link (prefix + token is where it returns).
func (s *Server) startSignIn(c echo.Context, link models.LinkToken, prefix, loginHint, locale string) error {
	if s.secrets == nil {
		return s.linkAnswer(c, http.StatusServiceUnavailable, unavailableLink, locale)
	}
	sess := signinSession{LinkHash: link.Hash, Back: prefix + c.Param("token"), Start: signin.NewStart(), Expires: time.Now().Add(signinLifetime).Unix()}
	to, err := s.signin.AuthURL(c.Request().Context(), sess.Start, loginHint)
	if err != nil {
		s.logger.ErrorContext(c.Request().Context(), "Sign-in with Microsoft could not start", "error", err)
		return s.linkAnswer(c, http.StatusServiceUnavailable, unavailableLink, locale)
	}
	if err := s.setSigninCookie(c, sess); err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, to)
}

// signInCallback finishes the sign-in and checks the tenant, then returns
// to the link's page.
func (s *Server) signInCallback(c echo.Context) error {
	ctx := c.Request().Context()
	sess, ok := s.signinCookie(c)
	if !ok {
		return s.linkAnswer(c, http.StatusBadRequest, signinFailed, "")
	}
	q := c.QueryParams()
	id, err := s.signin.Finish(ctx, sess.Start, q.Get("state"), q.Get("code"))
	if err != nil {
		s.logger.WarnContext(ctx, "Sign-in with Microsoft refused", "error", err, "microsoft_error", q.Get("error"))
		return s.linkAnswer(c, http.StatusUnauthorized, signinFailed, "")
	}
	subject, want, locale, err := s.signInTenant(ctx, sess.LinkHash)
	if status, page := linkReadFailed(err); page != nil {
		return s.linkAnswer(c, status, *page, "")
	}
	if want != "" && id.TenantID != want {
		s.logger.WarnContext(ctx, "Sign-in with Microsoft: another organization's account", "subject_id", subject, "signed_in_tenant", id.TenantID)
		return s.linkAnswer(c, http.StatusForbidden, signinWrongTenant, locale)
	}
	sess.Identity = &models.SignedInAccount{TenantID: id.TenantID, ObjectID: id.ObjectID, Name: id.Name, UPN: id.UPN}
	if err := s.setSigninCookie(c, sess); err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "Customer signed in with Microsoft", "subject_id", subject, "tenant_id", id.TenantID, "object_id", id.ObjectID)
	return c.Redirect(http.StatusFound, sess.Back)
}

// signInTenant is the customer tenant a link's sign-in must be ("" when the
// customer is known only by e-mail: the signed-in tenant becomes it).
func (s *Server) signInTenant(ctx context.Context, linkHash string) (subjectID, tenantID, locale string, err error) {
	t, err := s.store.LinkToken(ctx, linkHash)
	if err != nil {
		return "", "", "", err
	}
	if t.Purpose == models.LinkPurposeConsent {
		x, err := s.store.Extension(ctx, t.SubjectID)
		if err != nil {
			return t.SubjectID, "", "", err
		}
		c, err := s.store.Customer(ctx, x.CustomerID)
		return x.ID, strings.ToLower(c.TenantID), x.Locale, err
	}
	inv, err := s.store.Invitation(ctx, t.SubjectID)
	return inv.ID, strings.ToLower(inv.CustomerTenantID), inv.Locale, err
}

var (
	signinFailed      = resultPage{title: "result_signin_failed_title", code: CodeUnauthorized, text: "result_signin_failed_text"}
	signinWrongTenant = resultPage{title: "result_signin_failed_title", code: CodeForbidden, text: "result_signin_wrong_tenant_text"}
	signinNeeded      = resultPage{title: "result_signin_failed_title", code: CodeForbidden, text: "result_signin_needed_text"}
	consentSignin     = resultPage{title: "result_signin_failed_title", code: CodeForbidden, text: "result_consent_signin_needed_text"}
)

// signedInFor is who signed in for this link, or nil.
func (s *Server) signedInFor(c echo.Context, link models.LinkToken) *models.SignedInAccount {
	sess, ok := s.signinCookie(c)
	if !ok || sess.LinkHash != link.Hash {
		return nil
	}
	return sess.Identity
}

func (s *Server) setSigninCookie(c echo.Context, sess signinSession) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	sealed, err := s.secrets.Seal(string(b), signinSealAD)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: signinCookie, Value: sealed, Path: "/", MaxAge: int(signinLifetime.Seconds()), HttpOnly: true,
		// Lax: the cookie must come back on the top-level redirect from Microsoft.
		SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.cfg.PublicBaseURL, "https://")})
	return nil
}

func (s *Server) signinCookie(c echo.Context) (signinSession, bool) {
	var sess signinSession
	ck, err := c.Cookie(signinCookie)
	if err != nil || s.secrets == nil {
		return sess, false
	}
	plain, err := s.secrets.Open(ck.Value, signinSealAD)
	if err != nil || json.Unmarshal([]byte(plain), &sess) != nil || time.Now().Unix() > sess.Expires {
		return sess, false
	}
	if u, err := url.Parse(sess.Back); err != nil || u.IsAbs() || !(strings.HasPrefix(sess.Back, "/i/") || strings.HasPrefix(sess.Back, "/c/")) {
		return sess, false
	}
	return sess, true
}
