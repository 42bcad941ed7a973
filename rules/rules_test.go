package rules

import (
	"strings"
	"testing"
	"time"
)

func TestCheckAttestation(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	good := Attestation{SignerName: "Ann Beck", SignerEmail: "ann@woodgrove.example", ObtainedAt: now.Add(-72 * time.Hour), Evidence: "Signed consent letter CL-1182"}
	if err := CheckAttestation(good, now, true); err != nil {
		t.Fatalf("good attestation refused: %v", err)
	}
	cases := map[string]struct {
		mutate  func(a *Attestation)
		allowed bool
		says    string
	}{
		"policy forbids":   {func(a *Attestation) {}, false, "not allowed"},
		"future":           {func(a *Attestation) { a.ObtainedAt = now.Add(time.Hour) }, true, "future"},
		"older than 90d":   {func(a *Attestation) { a.ObtainedAt = now.Add(-91 * 24 * time.Hour) }, true, "90 days"},
		"no time":          {func(a *Attestation) { a.ObtainedAt = time.Time{} }, true, "obtained_at is required"},
		"no signer":        {func(a *Attestation) { a.SignerName = " " }, true, "signer_name"},
		"bad signer email": {func(a *Attestation) { a.SignerEmail = "Ann <ann@x.example>" }, true, "signer_email"},
		"thin evidence":    {func(a *Attestation) { a.Evidence = "ok" }, true, "evidence"},
		// Audit §15: Postgres refuses a NUL after the request was accepted.
		"NUL in signer":   {func(a *Attestation) { a.SignerName = "Ann\x00Beck" }, true, "signer_name"},
		"NUL in evidence": {func(a *Attestation) { a.Evidence = "Signed letter\x00CL-1182" }, true, "evidence"},
	}
	for name, tc := range cases {
		a := good
		tc.mutate(&a)
		err := CheckAttestation(a, now, tc.allowed)
		v, ok := AsViolation(err)
		if !ok || v.Code != ConsentEvidenceInvalid || !strings.Contains(v.Detail, tc.says) {
			t.Errorf("%s: got %v, want %s naming %q", name, err, ConsentEvidenceInvalid, tc.says)
		}
	}
}
