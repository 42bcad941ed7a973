package partnercenter

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultCertHosts are the hosts a signing certificate may be fetched from:
// the one Microsoft's page shows in x-ms-certificate-url
// ("https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer").
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#receiving-events-from-partner-center
var DefaultCertHosts = []string{"3psostorageacct.blob.core.windows.net"}

// MicrosoftOrganization is the issuer organization the page's sample checks
// ("O=Microsoft Corporation").
const MicrosoftOrganization = "Microsoft Corporation"

// Request headers of a delivery.
const (
	HeaderCertificateURL     = "X-Ms-Certificate-Url"
	HeaderSignatureAlgorithm = "X-Ms-Signature-Algorithm"
	// HeaderSignature carries "Signature <base64>" instead of Authorization
	// when a registration set SignatureTokenToMsSignatureHeader.
	HeaderSignature = "X-Ms-Signature"
)

// Rejection reasons (VerifyError.Reason), logged by the receiver.
const (
	ReasonUnsigned    = "unsigned"        // a required header is missing
	ReasonAlgorithm   = "algorithm"       // not rsa-sha256
	ReasonCertURL     = "certificate_url" // not https on an allowed host
	ReasonCertificate = "certificate"     // not fetched, not parsed, not chained, not Microsoft's
	ReasonSignature   = "signature"       // does not verify over the body
	ReasonMalformed   = "malformed"       // signed, but not an event
	ReasonStale       = "stale"           // ResourceChangeUtcDate outside the window
	ReasonReplayed    = "replayed"        // the same body was accepted before
)

// VerifyError is a delivery refused: the answer is 401, nothing is signalled.
type VerifyError struct {
	Reason string
	Detail string
}

func (e *VerifyError) Error() string {
	return "Partner Center delivery refused (" + e.Reason + "): " + e.Detail
}

func refuse(reason, format string, args ...any) error {
	return &VerifyError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Deliveries remembers the deliveries already accepted, so that a replayed
// one is refused even after a restart (the store keeps them in the database).
type Deliveries interface {
	// FirstDelivery records digest until expires; false when it was
	// recorded before (a replay).
	FirstDelivery(ctx context.Context, digest string, expires time.Time) (bool, error)
	// ForgetDelivery drops a record, so that Partner Center's retry of a
	// delivery we could not act on is accepted.
	ForgetDelivery(ctx context.Context, digest string) error
}

// VerifierConfig says whom to trust.
type VerifierConfig struct {
	// CertHosts are the hosts x-ms-certificate-url may name (https only);
	// empty is DefaultCertHosts. Only the simulator and tests change it.
	CertHosts []string
	// Roots verify the certificate chain; nil is the system's roots.
	Roots *x509.CertPool
	// HTTPClient fetches certificates; nil is a client with a 10 s timeout.
	// Redirects are never followed: the URL checked is the URL fetched.
	HTTPClient *http.Client
	// MaxAge is how old ResourceChangeUtcDate may be (default 24h); Skew is
	// how far ahead of our clock it may be (default 5m). A replay record
	// is kept for MaxAge+Skew: older deliveries are refused as stale anyway.
	MaxAge, Skew time.Duration
	// CertTTL is how long a fetched certificate is kept (default 1h, never
	// past its NotAfter).
	CertTTL time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Verifier checks deliveries as "How to authenticate the callback" says:
// the headers are present, the certificate named by x-ms-certificate-url is
// fetched (only over https from an allowed host), its chain verified and its
// issuer's organization is Microsoft's, and the signature is RSA with
// SHA-256 over the body's bytes. It adds what the page leaves to the
// receiver: a freshness window and replay refusal.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#how-to-authenticate-the-callback
type Verifier struct {
	cfg        VerifierConfig
	deliveries Deliveries
	http       *http.Client

	mu    sync.Mutex
	certs map[string]cachedCert
}

type cachedCert struct {
	cert    *x509.Certificate
	expires time.Time
}

// maxCachedCerts bounds the cache: an attacker naming many paths on an
// allowed host cannot grow it (only certificates that verified are kept).
const maxCachedCerts = 16

// NewVerifier builds a verifier over the replay record.
func NewVerifier(cfg VerifierConfig, deliveries Deliveries) *Verifier {
	if len(cfg.CertHosts) == 0 {
		cfg.CertHosts = DefaultCertHosts
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Skew <= 0 {
		cfg.Skew = 5 * time.Minute
	}
	if cfg.CertTTL <= 0 {
		cfg.CertTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Verifier{cfg: cfg, deliveries: deliveries, http: hc, certs: map[string]cachedCert{}}
}

// Delivery is a verified, first-seen event.
type Delivery struct {
	Event  Event
	Digest string // SHA-256 of the body: the replay record's key
}

// Verify authenticates one delivery and records it; a *VerifyError says why not.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) (Delivery, error) {
	sig, err := signatureOf(h)
	if err != nil {
		return Delivery{}, err
	}
	certURL := strings.TrimSpace(h.Get(HeaderCertificateURL))
	alg := strings.TrimSpace(h.Get(HeaderSignatureAlgorithm))
	if certURL == "" || alg == "" {
		return Delivery{}, refuse(ReasonUnsigned, "x-ms-certificate-url and x-ms-signature-algorithm are required")
	}
	if !strings.EqualFold(alg, "rsa-sha256") {
		return Delivery{}, refuse(ReasonAlgorithm, "x-ms-signature-algorithm %q is not rsa-sha256", alg)
	}
	if err := v.checkCertURL(certURL); err != nil {
		return Delivery{}, err
	}
	cert, err := v.certificate(ctx, certURL)
	if err != nil {
		return Delivery{}, err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return Delivery{}, refuse(ReasonCertificate, "the signing certificate's key is not RSA")
	}
	digest := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return Delivery{}, refuse(ReasonSignature, "the signature does not verify over the body")
	}
	ev, err := ParseEvent(body)
	if err != nil {
		return Delivery{}, refuse(ReasonMalformed, "%v", err)
	}
	changed, err := ev.ChangedAt()
	if err != nil {
		return Delivery{}, refuse(ReasonMalformed, "%v", err)
	}
	now := v.cfg.Now()
	if changed.Before(now.Add(-v.cfg.MaxAge)) || changed.After(now.Add(v.cfg.Skew)) {
		return Delivery{}, refuse(ReasonStale, "ResourceChangeUtcDate %s is outside the %s window", ev.ResourceChangeUtcDate, v.cfg.MaxAge)
	}
	d := Delivery{Event: ev, Digest: hex.EncodeToString(digest[:])}
	first, err := v.deliveries.FirstDelivery(ctx, d.Digest, changed.Add(v.cfg.MaxAge+v.cfg.Skew))
	if err != nil {
		return Delivery{}, fmt.Errorf("record the delivery: %w", err)
	}
	if !first {
		return Delivery{}, refuse(ReasonReplayed, "this delivery was accepted before")
	}
	return d, nil
}

// Forget drops a delivery's replay record (see Deliveries.ForgetDelivery).
func (v *Verifier) Forget(ctx context.Context, d Delivery) error {
	return v.deliveries.ForgetDelivery(ctx, d.Digest)
}

// signatureOf reads "Authorization: Signature <base64>", or the same in
// x-ms-signature (SignatureTokenToMsSignatureHeader).
func signatureOf(h http.Header) ([]byte, error) {
	v := strings.TrimSpace(h.Get(echoAuthorization))
	if alt := strings.TrimSpace(h.Get(HeaderSignature)); alt != "" && !hasScheme(v, "Signature") {
		v = alt
	}
	if v == "" {
		return nil, refuse(ReasonUnsigned, "no Authorization: Signature header")
	}
	if !hasScheme(v, "Signature") {
		return nil, refuse(ReasonUnsigned, "the authorization scheme must be Signature")
	}
	_, token, _ := strings.Cut(v, " ")
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil || len(sig) == 0 {
		return nil, refuse(ReasonSignature, "the signature is not base64")
	}
	return sig, nil
}

func hasScheme(v, scheme string) bool {
	s, _, ok := strings.Cut(v, " ")
	return ok && strings.EqualFold(s, scheme)
}

const echoAuthorization = "Authorization"

// checkCertURL admits only https URLs on an allowed host, on the default
// port, without credentials: the certificate is trusted for where it comes
// from before its chain is even looked at.
func (v *Verifier) checkCertURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" {
		return refuse(ReasonCertURL, "x-ms-certificate-url must be an https URL")
	}
	if !slices.ContainsFunc(v.cfg.CertHosts, func(h string) bool { return strings.EqualFold(h, u.Host) }) {
		return refuse(ReasonCertURL, "x-ms-certificate-url host %q is not one of %s", u.Host, strings.Join(v.cfg.CertHosts, ", "))
	}
	return nil
}

// certificate is the verified signing certificate at certURL, from the
// cache while it is fresh.
func (v *Verifier) certificate(ctx context.Context, certURL string) (*x509.Certificate, error) {
	now := v.cfg.Now()
	v.mu.Lock()
	c, ok := v.certs[certURL]
	v.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.cert, nil
	}
	leaf, err := v.fetch(ctx, certURL)
	if err != nil {
		return nil, err
	}
	expires := now.Add(v.cfg.CertTTL)
	if leaf.NotAfter.Before(expires) {
		expires = leaf.NotAfter
	}
	v.mu.Lock()
	if len(v.certs) >= maxCachedCerts {
		clear(v.certs)
	}
	v.certs[certURL] = cachedCert{cert: leaf, expires: expires}
	v.mu.Unlock()
	return leaf, nil
}

func (v *Verifier) fetch(ctx context.Context, certURL string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, refuse(ReasonCertURL, "x-ms-certificate-url: %v", err)
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, refuse(ReasonCertificate, "fetch the signing certificate: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, refuse(ReasonCertificate, "fetch the signing certificate: %s", resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, refuse(ReasonCertificate, "read the signing certificate: %v", err)
	}
	certs, err := parseCertificates(raw)
	if err != nil {
		return nil, refuse(ReasonCertificate, "%v", err)
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	// "Verify the Certificate Chain": to a trusted root at our clock. The
	// certificate is a TLS certificate used for signing: any usage.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: v.cfg.Roots, Intermediates: inter, CurrentTime: v.cfg.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, refuse(ReasonCertificate, "the signing certificate does not chain to a trusted root: %v", err)
	}
	// "Verify the Organization of the certificate": issued by Microsoft.
	if !slices.Contains(leaf.Issuer.Organization, MicrosoftOrganization) {
		return nil, refuse(ReasonCertificate, "the signing certificate is not issued by O=%s", MicrosoftOrganization)
	}
	v.cfg.Logger.InfoContext(ctx, "Partner Center signing certificate fetched", "url", certURL, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	return leaf, nil
}

// parseCertificates reads a .cer: DER, or PEM (a leaf first, then any
// intermediates).
func parseCertificates(raw []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := raw
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse the signing certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) > 0 {
		return out, nil
	}
	certs, err := x509.ParseCertificates(raw)
	if err != nil || len(certs) == 0 {
		return nil, errors.New("the signing certificate is neither DER nor PEM")
	}
	return certs, nil
}
