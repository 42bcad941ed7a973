package partnercenter_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

type fixture struct {
	signer  *simulator.WebhookSigner
	st      *store.Store
	fetches *countingTransport
	now     time.Time
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	signer, err := simulator.NewWebhookSigner()
	require.NoError(t, err)
	t.Cleanup(signer.Close)
	return &fixture{signer: signer, st: st, fetches: &countingTransport{base: signer.HTTPClient().Transport}, now: time.Now().UTC()}
}

func (f *fixture) verifier() *partnercenter.Verifier {
	return partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: []string{f.signer.CertHost()}, Roots: f.signer.Roots(),
		HTTPClient: &http.Client{Transport: f.fetches, Timeout: 5 * time.Second}, MaxAge: time.Hour, Now: func() time.Time { return f.now }}, f.st)
}

func eventBody(at time.Time) []byte {
	return []byte(`{"EventName":"granular-admin-relationship-approved","ResourceUri":"https://partner.microsoft.com/granularAdminRelationships/` +
		`6d2f1c3e-1111-4a2b-9c3d-000000000001","ResourceName":"GranularAdminRelationship","AuditUri":null,"ResourceChangeUtcDate":"` +
		at.UTC().Format("2006-01-02T15:04:05.0000000+00:00") + `"}`)
}

func (f *fixture) signed(body []byte) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Signature "+f.signer.Sign(body))
	h.Set(partnercenter.HeaderCertificateURL, f.signer.CertURL())
	h.Set(partnercenter.HeaderSignatureAlgorithm, "rsa-sha256")
	return h
}

func reason(t *testing.T, err error) string {
	t.Helper()
	var ve *partnercenter.VerifyError
	require.True(t, errors.As(err, &ve), "want a refusal, got %v", err)
	return ve.Reason
}

func TestWebhookSignature(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, storetest.New(t, dialect))
			v := f.verifier()
			ctx := context.Background()

			t.Run("valid", func(t *testing.T) {
				body := eventBody(f.now.Add(-time.Minute))
				d, err := v.Verify(ctx, f.signed(body), body)
				require.NoError(t, err)
				require.Equal(t, partnercenter.EventGDAPRelationshipApproved, d.Event.EventName)
				require.Equal(t, partnercenter.Target{Kind: partnercenter.TargetGDAPRelationship, ID: "6d2f1c3e-1111-4a2b-9c3d-000000000001"}, partnercenter.TargetOf(d.Event))
			})
			t.Run("replayed, also after a restart", func(t *testing.T) {
				body := eventBody(f.now.Add(-2 * time.Minute))
				_, err := v.Verify(ctx, f.signed(body), body)
				require.NoError(t, err)
				_, err = v.Verify(ctx, f.signed(body), body)
				require.Equal(t, partnercenter.ReasonReplayed, reason(t, err))
				// A new process: no memory but the database's.
				_, err = f.verifier().Verify(ctx, f.signed(body), body)
				require.Equal(t, partnercenter.ReasonReplayed, reason(t, err))
			})
			t.Run("forgotten delivery is accepted again", func(t *testing.T) {
				body := eventBody(f.now.Add(-3 * time.Minute))
				d, err := v.Verify(ctx, f.signed(body), body)
				require.NoError(t, err)
				require.NoError(t, v.Forget(ctx, d))
				_, err = v.Verify(ctx, f.signed(body), body)
				require.NoError(t, err)
			})
			t.Run("tampered body", func(t *testing.T) {
				body := eventBody(f.now.Add(-4 * time.Minute))
				h := f.signed(body)
				tampered := []byte(strings.Replace(string(body), "000000000001", "000000000002", 1))
				_, err := v.Verify(ctx, h, tampered)
				require.Equal(t, partnercenter.ReasonSignature, reason(t, err))
			})
			t.Run("wrong key", func(t *testing.T) {
				body := eventBody(f.now.Add(-5 * time.Minute))
				other, err := rsa.GenerateKey(rand.Reader, 2048)
				require.NoError(t, err)
				sum := sha256.Sum256(body)
				sig, err := rsa.SignPKCS1v15(rand.Reader, other, crypto.SHA256, sum[:])
				require.NoError(t, err)
				h := f.signed(body)
				h.Set("Authorization", "Signature "+base64.StdEncoding.EncodeToString(sig))
				_, err = v.Verify(ctx, h, body)
				require.Equal(t, partnercenter.ReasonSignature, reason(t, err))
			})
			t.Run("certificate URL off the allowed host", func(t *testing.T) {
				body := eventBody(f.now.Add(-6 * time.Minute))
				before := f.fetches.n.Load()
				for _, u := range []string{
					"https://evil.example/cert/pcnotifications-dispatch.microsoft.com.cer",
					strings.Replace(f.signer.CertURL(), "https://", "http://", 1),
					strings.Replace(f.signer.CertURL(), "https://", "https://user@", 1),
					"https://" + f.signer.CertHost() + ".evil.example/cert/x.cer",
					"//" + f.signer.CertHost() + "/cert/x.cer",
				} {
					h := f.signed(body)
					h.Set(partnercenter.HeaderCertificateURL, u)
					_, err := v.Verify(ctx, h, body)
					require.Equal(t, partnercenter.ReasonCertURL, reason(t, err), u)
				}
				require.Equal(t, before, f.fetches.n.Load(), "nothing is fetched from a URL that is not allowed")
			})
			t.Run("stale or from the future", func(t *testing.T) {
				for _, at := range []time.Time{f.now.Add(-2 * time.Hour), f.now.Add(time.Hour)} {
					body := eventBody(at)
					_, err := v.Verify(ctx, f.signed(body), body)
					require.Equal(t, partnercenter.ReasonStale, reason(t, err))
				}
			})
			t.Run("unsigned", func(t *testing.T) {
				body := eventBody(f.now.Add(-7 * time.Minute))
				for name, edit := range map[string]func(http.Header){
					"no Authorization":       func(h http.Header) { h.Del("Authorization") },
					"Bearer scheme":          func(h http.Header) { h.Set("Authorization", "Bearer abc") },
					"no certificate URL":     func(h http.Header) { h.Del(partnercenter.HeaderCertificateURL) },
					"no signature algorithm": func(h http.Header) { h.Del(partnercenter.HeaderSignatureAlgorithm) },
				} {
					h := f.signed(body)
					edit(h)
					_, err := v.Verify(ctx, h, body)
					require.Equal(t, partnercenter.ReasonUnsigned, reason(t, err), name)
				}
				h := f.signed(body)
				h.Set(partnercenter.HeaderSignatureAlgorithm, "rsa-sha1")
				_, err := v.Verify(ctx, h, body)
				require.Equal(t, partnercenter.ReasonAlgorithm, reason(t, err))
			})
			t.Run("signature in x-ms-signature", func(t *testing.T) {
				body := eventBody(f.now.Add(-8 * time.Minute))
				h := f.signed(body)
				h.Set(partnercenter.HeaderSignature, h.Get("Authorization"))
				h.Del("Authorization")
				_, err := v.Verify(ctx, h, body)
				require.NoError(t, err)
				// Beside another scheme's Authorization (a proxy's), x-ms-signature is the one read.
				body = eventBody(f.now.Add(-9 * time.Minute))
				h = f.signed(body)
				h.Set(partnercenter.HeaderSignature, h.Get("Authorization"))
				h.Set("Authorization", "Bearer proxy-token")
				_, err = v.Verify(ctx, h, body)
				require.NoError(t, err)
			})
			t.Run("the certificate is fetched once per process", func(t *testing.T) {
				require.Equal(t, int32(2), f.fetches.n.Load(), "one fetch for v, one for the restarted verifier")
			})
		})
	}
}

// A certificate that does not chain to a trusted root, or that its issuer
// does not name Microsoft Corporation as the organization, is refused.
func TestWebhookCertificateTrust(t *testing.T) {
	f := newFixture(t, storetest.New(t, storetest.Dialects[len(storetest.Dialects)-1]))
	ctx := context.Background()
	body := eventBody(f.now)

	// Untrusted: the verifier's roots do not hold the signer's CA.
	untrusted := partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: []string{f.signer.CertHost()}, Roots: x509.NewCertPool(),
		HTTPClient: f.signer.HTTPClient()}, f.st)
	_, err := untrusted.Verify(ctx, f.signed(body), body)
	require.Equal(t, partnercenter.ReasonCertificate, reason(t, err))

	// Trusted, but issued by someone else than Microsoft Corporation.
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Contoso Root", Organization: []string{"Contoso Ltd"}},
		NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	contoso, err := simulator.NewSignerIssuedBy(ca, caKey)
	require.NoError(t, err)
	t.Cleanup(contoso.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	v := partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: []string{contoso.CertHost()}, Roots: roots, HTTPClient: contoso.HTTPClient()}, f.st)
	req, err := contoso.Request(ctx, "http://127.0.0.1/", body)
	require.NoError(t, err)
	_, err = v.Verify(ctx, req.Header, body)
	require.Equal(t, partnercenter.ReasonCertificate, reason(t, err))
	require.Contains(t, err.Error(), "Microsoft Corporation")
}

func TestTargetOf(t *testing.T) {
	for _, c := range []struct {
		event partnercenter.Event
		want  partnercenter.Target
	}{
		{partnercenter.Event{EventName: "granular-admin-relationship-terminated", ResourceURI: "https://partner.microsoft.com/granularAdminRelationships/r-1"},
			partnercenter.Target{Kind: partnercenter.TargetGDAPRelationship, ID: "r-1"}},
		{partnercenter.Event{EventName: "granular-admin-access-assignment-activated", ResourceURI: "https://api.partnercenter.microsoft.com/granularAdminRelationships/r-2/accessAssignments/a-9"},
			partnercenter.Target{Kind: partnercenter.TargetGDAPRelationship, ID: "r-2"}},
		{partnercenter.Event{EventName: "reseller-relationship-accepted-by-customer", ResourceURI: "https://api.partnercenter.microsoft.com/v1/customers/4b2a6e33-8791-4386-bd2b-0d55baf25039"},
			partnercenter.Target{Kind: partnercenter.TargetResellerRelationship, ID: "4b2a6e33-8791-4386-bd2b-0d55baf25039"}},
		{partnercenter.Event{EventName: "indirect-reseller-relationship-accepted-by-customer", ResourceURI: "https://api.partnercenter.microsoft.com/v1/customers/c-2"},
			partnercenter.Target{Kind: partnercenter.TargetResellerRelationship, ID: "c-2"}},
		{partnercenter.Event{EventName: "test-created", ResourceURI: "https://api.partnercenter.microsoft.com/webhooks/v1/registration/validationEvents/x"},
			partnercenter.Target{Kind: partnercenter.TargetTest}},
		// A GDAP event without a relationship in its URI, and unknown events: nothing to wake.
		{partnercenter.Event{EventName: "granular-admin-relationship-approved", ResourceURI: "https://partner.microsoft.com/customers/x"}, partnercenter.Target{}},
		{partnercenter.Event{EventName: "subscription-updated", ResourceURI: "https://api.partnercenter.microsoft.com/v1/customers/c/subscriptions/s"}, partnercenter.Target{}},
	} {
		require.Equal(t, c.want, partnercenter.TargetOf(c.event), c.event.EventName)
	}
}
