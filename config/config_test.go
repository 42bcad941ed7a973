package config

import (
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestDefaultsNeedNoVariable(t *testing.T) {
	c, err := fromLookup(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.TemporalUIPort != 8233 || c.UsesPostgres() || c.TemporalTLSEnabled() {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Timing.InvitationExpiry != 30*24*time.Hour || len(c.Timing.InvitationReminders) != 2 {
		t.Fatalf("invitation timing: %+v", c.Timing)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	c, err := fromLookup(env(map[string]string{
		"DATABASE_URL": "postgres://u@db/onboarding", "PUBLIC_BASE_URL": "https://onboard.example/",
		"INVITATION_REMINDERS": "1d, 36h", "INVITATION_EXPIRY": "10d", "TEMPORAL_TLS_CA": "/ca.pem",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.UsesPostgres() || c.PublicBaseURL != "https://onboard.example" || !c.TemporalTLSEnabled() {
		t.Fatalf("overrides: %+v", c)
	}
	if c.Timing.InvitationReminders[1] != 36*time.Hour || c.Timing.InvitationExpiry != 240*time.Hour {
		t.Fatalf("timing: %+v", c.Timing)
	}
}

func TestBadValuesAreRefusedWithTheirName(t *testing.T) {
	_, err := fromLookup(env(map[string]string{"INVITATION_EXPIRY": "soon", "TEMPORAL_UI_PORT": "99999", "PARTNERSHIP_REMINDERS": "1d,-2h"}))
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, name := range []string{"INVITATION_EXPIRY", "TEMPORAL_UI_PORT", "PARTNERSHIP_REMINDERS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestMailSettings(t *testing.T) {
	c, err := fromLookup(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MailGiveUp != 24*time.Hour || c.SMTPConnectTimeout != 10*time.Second || c.SMTPSendTimeout != time.Minute {
		t.Fatalf("mail defaults: %+v", c)
	}
	c, err = fromLookup(env(map[string]string{"MAIL_GIVE_UP": "2h", "SMTP_TLS_CA": "/ca.pem", "SMTP_SEND_TIMEOUT": "30s",
		"ONBOARDING_SECRET_KEY": "k", "ONBOARDING_SECRET_KEY_OLD": "o1,o2"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MailGiveUp != 2*time.Hour || c.SMTPTLSCA != "/ca.pem" || c.SMTPSendTimeout != 30*time.Second || c.SecretKey != "k" || c.SecretKeyOld != "o1,o2" {
		t.Fatalf("mail overrides: %+v", c)
	}
	if _, err := fromLookup(env(map[string]string{"MAIL_GIVE_UP": "never"})); err == nil || !strings.Contains(err.Error(), "MAIL_GIVE_UP") {
		t.Fatalf("bad MAIL_GIVE_UP: %v", err)
	}
}
