package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// TestALinkThatCannotBeReadIsNotUnknown: a database that cannot be read
// behind a personal link answers 503 (try again), never 404 "this link is not
// valid" — the cluster fault test saw a customer told that while Postgres
// sessions were being cut.
func TestALinkThatCannotBeReadIsNotUnknown(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	e := New(Deps{Store: st, Temporal: &fakeTemporal{}, Config: config.Default(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	token := strings.Repeat("A", 43)
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	for _, path := range []string{"/i/" + token, "/c/" + token} {
		if rec := get(path); rec.Code != http.StatusNotFound {
			t.Fatalf("%s with no such link: %d %s", path, rec.Code, rec.Body)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/i/" + token, "/c/" + token} {
		rec := get(path)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"unavailable"`) {
			t.Errorf("%s with the database gone: %d %s", path, rec.Code, rec.Body)
		}
	}
}
