// Package entratest makes certificate credentials for tests: a self-signed
// certificate and its key, as `openssl req -x509 -newkey rsa:2048 -nodes`
// would write them.
package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// Certificate is a PEM bundle (certificate, then PKCS#8 key) valid from
// notBefore to notAfter, and its parsed certificate.
func Certificate(t testing.TB, notBefore, notAfter time.Time) ([]byte, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return CertificateFor(t, key, notBefore, notAfter)
}

// CertificateFor is Certificate with a given key.
func CertificateFor(t testing.TB, key *rsa.PrivateKey, notBefore, notAfter time.Time) ([]byte, *x509.Certificate) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "onboarding"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	return bundle, cert
}
