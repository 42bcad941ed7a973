package secret

import (
	"strings"
	"testing"
)

func TestSealOpenAndRotation(t *testing.T) {
	oldKey, newKey := NewKey(), NewKey()
	before, err := NewKeyring(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := before.Seal("http://x/i/tok", "invitation:1:initial")
	if err != nil || strings.Contains(sealed, "tok") {
		t.Fatalf("sealed %q, %v", sealed, err)
	}
	if _, err := before.Open(sealed, "invitation:2:initial"); err == nil {
		t.Fatal("a sealed value opened for another row")
	}
	rotated, err := NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed, "invitation:1:initial"); err != nil || got != "http://x/i/tok" {
		t.Fatalf("after rotation: %q, %v", got, err)
	}
	withoutOld, _ := NewKeyring(newKey)
	if _, err := withoutOld.Open(sealed, "invitation:1:initial"); err == nil {
		t.Fatal("opened without the old key")
	}
	if _, err := NewKeyring("short"); err == nil || !strings.Contains(err.Error(), "ONBOARDING_SECRET_KEY") {
		t.Fatalf("bad key: %v", err)
	}
	var none *Keyring
	if _, err := none.Seal("x", "y"); err != ErrNoKey {
		t.Fatalf("nil keyring: %v", err)
	}
}
