package entra

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the thumbprint Microsoft's portal shows is SHA-1; it identifies, it does not protect
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// Certificate is an app registration's certificate credential: the
// certificate uploaded to the app registration and its private key.
type Certificate struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// ParseCertificate reads a PEM bundle holding the certificate and its RSA
// private key (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"), as
// `openssl req -x509 -newkey rsa:2048 -nodes` writes them. It refuses a key
// that does not match the certificate and a certificate out of its validity.
func ParseCertificate(bundle []byte, now time.Time) (*Certificate, error) {
	var c Certificate
	for rest := bundle; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			if c.Cert != nil {
				continue // a chain: the first certificate is the app's
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the certificate cannot be read: %w", err)
			}
			c.Cert = cert
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			key, err := parseKey(block)
			if err != nil {
				return nil, err
			}
			c.Key = key
		}
	}
	switch {
	case c.Cert == nil:
		return nil, errors.New("no PEM CERTIFICATE block: send the certificate and its private key as PEM")
	case c.Key == nil:
		return nil, errors.New("no PEM PRIVATE KEY block: the private key must be in the bundle, unencrypted")
	case !c.Key.PublicKey.Equal(c.Cert.PublicKey):
		return nil, errors.New("the private key does not belong to the certificate")
	case now.Before(c.Cert.NotBefore) || now.After(c.Cert.NotAfter):
		return nil, fmt.Errorf("the certificate is valid from %s to %s, not now", c.Cert.NotBefore.Format(time.DateOnly), c.Cert.NotAfter.Format(time.DateOnly))
	}
	return &c, nil
}

func parseKey(block *pem.Block) (*rsa.PrivateKey, error) {
	if block.Type == "RSA PRIVATE KEY" {
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the private key cannot be read: %w", err)
		}
		return key, nil
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the private key cannot be read (encrypted keys are not accepted): %w", err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the private key must be RSA: Microsoft Entra signs certificate credentials with RSA")
	}
	return rsaKey, nil
}

// Thumbprint is the SHA-1 thumbprint in hex, as the app registration's
// "Certificates & secrets" page shows it.
func (c *Certificate) Thumbprint() string {
	sum := sha1.Sum(c.Cert.Raw) //nolint:gosec // see the import
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// ThumbprintS256 is the x5t#S256 header value: base64url SHA-256 of the DER.
func ThumbprintS256(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Assertion is the signed JWT that stands for a client secret: PS256, typ
// JWT, x5t#S256 (and x5c); aud the token endpoint, iss and sub the client id, a
// unique jti, nbf/iat now and exp ten minutes later (the page asks for
// "5-10 minutes after nbf" at most).
func (c *Certificate) Assertion(clientID, tokenURL string, now time.Time) (string, error) {
	// x5c (RFC 7515 §4.1.6) carries the certificate itself, as MSAL's
	// SendX5C does; Entra matches x5t#S256 against the app's uploaded certificates.
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t#S256", ThumbprintS256(c.Cert)).
		WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(c.Cert.Raw)})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: crypto.Signer(c.Key)}, opts)
	if err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Audience: jwt.Audience{tokenURL}, Issuer: clientID, Subject: clientID, ID: uuid.NewString(),
		NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)),
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}
