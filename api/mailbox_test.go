package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// TestDevMailboxNeedsTheAdminToken: audit §3. The mailbox lists live
// personal links; without the admin token it shows only a sign-in form.
func TestDevMailboxNeedsTheAdminToken(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	cfg := config.Default()
	cfg.AdminToken = "csp_admin_0123456789abcdef0123456789abcdef"
	e := New(Deps{Store: st, Temporal: &fakeTemporal{}, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DevMailbox: true})
	serve := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	get := func(header, value string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/dev/mailbox", nil)
		if header != "" {
			req.Header.Set(header, value)
		}
		return serve(req)
	}
	login := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/dev/mailbox", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return serve(req)
	}

	if rec := get("", ""); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `name="token"`) || strings.Contains(rec.Body.String(), "No e-mail yet") {
		t.Fatalf("anonymous: %d %s", rec.Code, rec.Body)
	}
	if rec := get("Authorization", "Bearer wrong"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong bearer: %d", rec.Code)
	}
	if rec := get("Authorization", "Bearer "+cfg.AdminToken); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No e-mail yet") {
		t.Fatalf("admin bearer: %d %s", rec.Code, rec.Body)
	}
	if rec := get("Cookie", mailboxCookie+"="+cfg.AdminToken); rec.Code != http.StatusUnauthorized {
		t.Fatalf("a cookie holding the raw token is not the session: %d", rec.Code)
	}
	if rec := login("wrong"); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "not the admin token") {
		t.Fatalf("wrong sign-in: %d %s", rec.Code, rec.Body)
	}
	rec := login(cfg.AdminToken)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookies[0].Value, cfg.AdminToken) {
		t.Fatalf("cookie: %+v", cookies)
	}
	if rec := get("Cookie", cookies[0].Name+"="+cookies[0].Value); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No e-mail yet") {
		t.Fatalf("with the cookie: %d %s", rec.Code, rec.Body)
	}
}
