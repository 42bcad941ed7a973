package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
)

func retryAfter(t *testing.T, h http.Header) int {
	t.Helper()
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After = %q", h.Get("Retry-After"))
	}
	return n
}

// TestRateLimitsAnswer429WithRetryAfter: per API key and per client address
// on /v1, per client address on the customer-link answers.
func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	env := newStartEnv(t, func(c *config.Config) {
		c.RateLimits = config.RateLimits{
			PerKey:      config.Rate{PerSecond: 0.5, Burst: 2},
			PerAddr:     config.Rate{PerSecond: 0.5, Burst: 5},
			LinkPerAddr: config.Rate{PerSecond: 0.1, Burst: 1},
		}
	})
	_, key := seedPartner(t, env.st, models.PartnerTypeReseller)
	_, other := seedPartner(t, env.st, models.PartnerTypeReseller)
	for i := range 2 {
		if rec := env.call(http.MethodGet, "/v1/me", key, ""); rec.Code != http.StatusOK {
			t.Fatalf("request %d within the key's burst: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := env.call(http.MethodGet, "/v1/me", key, "")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("over the key's limit: %d %s", rec.Code, rec.Body)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != string(CodeRateLimited) {
		t.Fatalf("problem: %+v %v", p, err)
	}
	retryAfter(t, rec.Header())
	// Another key from the same address still passes, until the address's limit.
	if rec := env.call(http.MethodGet, "/v1/me", other, ""); rec.Code != http.StatusOK {
		t.Fatalf("another key: %d %s", rec.Code, rec.Body)
	}
	// Invalid keys are limited per address too: guessing keys runs into it.
	var last int
	for i := range 3 {
		last = env.call(http.MethodGet, "/v1/me", fmt.Sprint("csp_key_guess", i), "").Code
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("over the address's limit: %d", last)
	}

	// Customer-link answers, per address.
	if rec := env.call(http.MethodPost, "/i/unknown-token/accept", "", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("first link answer: %d %s", rec.Code, rec.Body)
	}
	rec = env.call(http.MethodPost, "/c/unknown-token/consent", "", "")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second link answer: %d %s", rec.Code, rec.Body)
	}
	if n := retryAfter(t, rec.Header()); n > 10 {
		t.Fatalf("Retry-After %d s, want at most the 10 s a token takes", n)
	}
	// Opening a link is not limited (it changes nothing).
	if rec := env.call(http.MethodGet, "/i/unknown-token", "", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("opening a link: %d", rec.Code)
	}
}

// TestTheLimiterKeepsBoundedMemory: any number of clients, a bounded number
// of buckets; idle full buckets are dropped first.
func TestTheLimiterKeepsBoundedMemory(t *testing.T) {
	l := newLimiter(config.Rate{PerSecond: 1, Burst: 1}, 100)
	now := time.Now()
	for i := range 10_000 {
		l.allow(fmt.Sprint("client-", i), now)
		if n := l.size(); n > 100 {
			t.Fatalf("%d buckets after %d clients", n, i+1)
		}
	}
	// A client seen just now keeps its (empty) bucket while idle ones go.
	l2 := newLimiter(config.Rate{PerSecond: 1, Burst: 1}, 3)
	l2.allow("a", now)
	l2.allow("b", now)
	l2.allow("busy", now.Add(5*time.Second))
	l2.allow("new", now.Add(5*time.Second)) // full: a and b are idle long enough to be full again
	if ok, _ := l2.allow("busy", now.Add(5*time.Second)); ok {
		t.Fatal("the busy client's bucket was dropped")
	}
	if l2.size() != 2 {
		t.Fatalf("buckets: %d, want busy and new", l2.size())
	}
}
