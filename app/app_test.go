package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/secret"
)

func TestSecretKeyIsRequiredWithSMTP(t *testing.T) {
	cfg := config.Default()
	if keys, err := Secrets(cfg); err != nil || keys != nil {
		t.Fatalf("without SMTP and key: %v %v", keys, err)
	}
	cfg.SMTPURL = "smtp://relay.example:587"
	if _, err := Secrets(cfg); err == nil || !strings.Contains(err.Error(), "ONBOARDING_SECRET_KEY is required") {
		t.Fatalf("SMTP without a key: %v", err)
	}
	cfg.SecretKey = secret.NewKey()
	if keys, err := Secrets(cfg); err != nil || keys == nil {
		t.Fatalf("with a key: %v %v", keys, err)
	}
}

func TestDevKeepsOneSecretKey(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	first, err := SecretKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := SecretKey(cfg)
	if err != nil || again != first {
		t.Fatalf("a second start must read the same key: %q %q %v", first, again, err)
	}
	info, err := os.Stat(filepath.Join(cfg.DataDir, "secret-key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("data/secret-key: %v %v", info, err)
	}
	if _, err := secret.ParseKey(first); err != nil {
		t.Fatal(err)
	}
}
