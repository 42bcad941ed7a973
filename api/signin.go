package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/signin"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/workflows"
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

// signinStore is what the sign-in reads: the link it was started from and
// its invitation.
type signinStore interface {
	LinkToken(ctx context.Context, hash string) (models.LinkToken, error)
	Invitation(ctx context.Context, id string) (models.Invitation, error)
}

// signinSession is the cookie's content.
type signinSession struct {
	LinkHash string                      `json:"l"`
	Back     string                      `json:"b"` // the link's page, to return to
	Start    signin.Start                `json:"s"`
	Identity *workflows.SignedInIdentity `json:"i,omitempty"`
	Expires  int64                       `json:"e"`
}

var signinClients sync.Map // config key → *signin.Client (the metadata is read once)

func (s *Server) signinClient() *signin.Client {
	m := s.cfg.Microsoft
	key := m.LoginURL + "|" + m.SignInClientID + "|" + s.cfg.PublicBaseURL
	if c, ok := signinClients.Load(key); ok {
		return c.(*signin.Client)
	}
	c, _ := signinClients.LoadOrStore(key, signin.New(signin.Config{LoginURL: m.LoginURL, ClientID: m.SignInClientID,
		ClientSecret: m.SignInClientSecret, RedirectURL: strings.TrimRight(s.cfg.PublicBaseURL, "/") + "/signin/callback"}))
	return c.(*signin.Client)
}

// signInRequired: an invitation the customer also accepts at Microsoft is
// accepted by a signed-in administrator.
func (s *Server) signInRequired(inv models.Invitation) bool {
	return s.cfg.Microsoft.Mode != config.MicrosoftOff && inv.MicrosoftAcceptURL != ""
}

// invitationSignIn starts the sign-in from an open invitation link.
func (s *Server) invitationSignIn(c echo.Context) error {
	inv, link, status, closed := s.openInvitationToken(c)
	if closed != nil {
		return s.linkAnswer(c, status, *closed, inv.Locale)
	}
	if !s.signInRequired(inv) || s.secrets == nil {
		return s.linkAnswer(c, http.StatusNotFound, unknownLink, inv.Locale)
	}
	sess := signinSession{LinkHash: link.Hash, Back: "/i/" + c.Param("token"), Start: signin.NewStart(), Expires: time.Now().Add(signinLifetime).Unix()}
	to, err := s.signinClient().AuthURL(c.Request().Context(), sess.Start, inv.CustomerEmail)
	if err != nil {
		s.logger.ErrorContext(c.Request().Context(), "Sign-in with Microsoft could not start", "error", err)
		return s.linkAnswer(c, http.StatusServiceUnavailable, unavailableLink, inv.Locale)
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
	id, err := s.signinClient().Finish(ctx, sess.Start, q.Get("state"), q.Get("code"))
	if err != nil {
		s.logger.WarnContext(ctx, "Sign-in with Microsoft refused", "error", err, "microsoft_error", q.Get("error"))
		return s.linkAnswer(c, http.StatusUnauthorized, signinFailed, "")
	}
	t, err := s.store.LinkToken(ctx, sess.LinkHash)
	if status, page := linkReadFailed(err); page != nil {
		return s.linkAnswer(c, status, *page, "")
	}
	inv, err := s.store.Invitation(ctx, t.SubjectID)
	if status, page := linkReadFailed(err); page != nil {
		return s.linkAnswer(c, status, *page, "")
	}
	if want := strings.ToLower(inv.CustomerTenantID); want != "" && id.TenantID != want {
		s.logger.WarnContext(ctx, "Sign-in with Microsoft: another organization's account", "invitation_id", inv.ID, "signed_in_tenant", id.TenantID)
		return s.linkAnswer(c, http.StatusForbidden, signinWrongTenant, inv.Locale)
	}
	sess.Identity = &workflows.SignedInIdentity{TenantID: id.TenantID, ObjectID: id.ObjectID, Name: id.Name, UPN: id.UPN}
	if err := s.setSigninCookie(c, sess); err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "Customer signed in with Microsoft", "invitation_id", inv.ID, "tenant_id", id.TenantID, "object_id", id.ObjectID)
	return c.Redirect(http.StatusFound, sess.Back)
}

var (
	signinFailed      = resultPage{title: "result_signin_failed_title", code: CodeUnauthorized, text: "result_signin_failed_text"}
	signinWrongTenant = resultPage{title: "result_signin_failed_title", code: CodeForbidden, text: "result_signin_wrong_tenant_text"}
	signinNeeded      = resultPage{title: "result_signin_failed_title", code: CodeForbidden, text: "result_signin_needed_text"}
)

// signedInFor is who signed in for this link, or nil.
func (s *Server) signedInFor(c echo.Context, link models.LinkToken) *workflows.SignedInIdentity {
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
	if u, err := url.Parse(sess.Back); err != nil || u.IsAbs() || !strings.HasPrefix(sess.Back, "/i/") {
		return sess, false
	}
	return sess, true
}
