package api

import (
	"testing"

	"github.com/csp-onboarding/onboarding/config"
)

func TestWebhookURLRules(t *testing.T) {
	prod := config.Default()
	prod.PublicBaseURL = "https://onboarding.example"
	dev := config.Default() // http://localhost:8080
	selfHosted := prod
	selfHosted.Webhooks.AllowPrivateTargets = true
	for _, c := range []struct {
		cfg config.Config
		url string
		ok  bool
	}{
		{prod, "https://psa.example/hooks", true},
		{prod, "http://psa.example/hooks", false}, // https in production
		{dev, "http://psa.example/hooks", true},   // http allowed when the product itself is http
		{prod, "ftp://psa.example/hooks", false},
		{prod, "https://user:pw@psa.example/hooks", false},
		{prod, "https://psa.example/hooks#x", false},
		{prod, "/hooks", false},
		{prod, "https://127.0.0.1/hooks", false},
		{prod, "https://[::1]/hooks", false},
		{prod, "https://169.254.169.254/latest", false},
		{prod, "https://10.0.0.5/hooks", false},
		{selfHosted, "https://10.0.0.5/hooks", true},
	} {
		s := &Server{cfg: c.cfg}
		if err := s.validWebhookURL(c.url); (err == nil) != c.ok {
			t.Errorf("%s (base %s, private %v): err %v, want ok=%v", c.url, c.cfg.PublicBaseURL, c.cfg.Webhooks.AllowPrivateTargets, err, c.ok)
		}
	}
}

func TestWebhookEventRules(t *testing.T) {
	for _, c := range []struct {
		events []string
		ok     bool
	}{
		{[]string{"*"}, true},
		{[]string{"invitation.accepted", "delegated_admin.expiring"}, true},
		{[]string{"invitation.*", "extension.consent.*"}, true},
		{[]string{"invitation.accepted", "invitation.accepted"}, true},
		{[]string{"invitation.nope"}, false},
		{[]string{"nothing.*"}, false},
		{[]string{".*"}, false},
		{[]string{"invitation_created"}, false}, // timeline names are not catalogue types
	} {
		out, err := validWebhookEvents(c.events)
		if (err == nil) != c.ok {
			t.Errorf("%v: err %v, want ok=%v", c.events, err, c.ok)
		}
		if err == nil && len(out) > len(c.events) {
			t.Errorf("%v became %v", c.events, out)
		}
	}
	if out, _ := validWebhookEvents([]string{"ping", "ping"}); len(out) != 1 {
		t.Errorf("duplicates kept: %v", out)
	}
}
