package entra_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
	"github.com/csp-onboarding/onboarding/microsoft/entra/entratest"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func TestParseCertificateAcceptsPKCS8AndPKCS1Keys(t *testing.T) {
	bundle, cert := entratest.Certificate(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	c, err := entra.ParseCertificate(bundle, now)
	require.NoError(t, err)
	require.True(t, c.Cert.Equal(cert))
	require.Regexp(t, regexp.MustCompile(`^[0-9A-F]{40}$`), c.Thumbprint())

	// The same key as PKCS#1 ("RSA PRIVATE KEY"), before the certificate.
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(c.Key)})
	certOnly := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	again, err := entra.ParseCertificate(append(pkcs1, certOnly...), now)
	require.NoError(t, err)
	require.Equal(t, c.Thumbprint(), again.Thumbprint())
}

func TestParseCertificateRefusals(t *testing.T) {
	bundle, cert := entratest.Certificate(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherDER, err := x509.MarshalPKCS8PrivateKey(other)
	require.NoError(t, err)
	otherKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER})
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})

	for name, tc := range map[string]struct {
		bundle []byte
		at     time.Time
		want   string
	}{
		"not PEM":       {[]byte("-----BEGIN nonsense"), now, "no PEM CERTIFICATE"},
		"no key":        {certPEM, now, "no PEM PRIVATE KEY"},
		"another key":   {append(append([]byte{}, certPEM...), otherKey...), now, "does not belong"},
		"EC key":        {append(append([]byte{}, certPEM...), ecPEM...), now, "must be RSA"},
		"expired":       {bundle, now.AddDate(2, 0, 0), "not now"},
		"not yet valid": {bundle, now.Add(-2 * time.Hour), "not now"},
		"broken DER":    {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), now, "cannot be read"},
		"encrypted key": {append(append([]byte{}, certPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{4, 5}})...), now, "encrypted keys are not accepted"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := entra.ParseCertificate(tc.bundle, tc.at)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// The assertion follows "Assertion format" of the certificate credentials page.
func TestAssertionHeaderAndClaims(t *testing.T) {
	bundle, cert := entratest.Certificate(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	c, err := entra.ParseCertificate(bundle, now)
	require.NoError(t, err)
	const client, aud = "b0a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10", "https://login.microsoftonline.com/tenant/oauth2/v2.0/token"
	signed, err := c.Assertion(client, aud, now)
	require.NoError(t, err)

	tok, err := jwt.ParseSigned(signed, []jose.SignatureAlgorithm{jose.PS256})
	require.NoError(t, err, "signed with PS256")
	require.Equal(t, "JWT", tok.Headers[0].ExtraHeaders["typ"])
	require.Equal(t, entra.ThumbprintS256(cert), tok.Headers[0].ExtraHeaders["x5t#S256"])
	var claims jwt.Claims
	require.NoError(t, tok.Claims(&c.Key.PublicKey, &claims))
	require.NoError(t, claims.ValidateWithLeeway(jwt.Expected{Issuer: client, Subject: client, AnyAudience: jwt.Audience{aud}, Time: now}, 0))
	require.NotEmpty(t, claims.ID)
	require.Equal(t, 10*time.Minute, claims.Expiry.Time().Sub(claims.NotBefore.Time()), "at most 5-10 minutes after nbf")

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	require.Error(t, tok.Claims(&other.PublicKey, &claims), "another key does not verify it")
	again, err := c.Assertion(client, aud, now)
	require.NoError(t, err)
	require.NotEqual(t, signed, again, "a unique jti each time")
}
