package simulator

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
)

// tokenError is the token endpoint's error answer.
type tokenError struct {
	status            int
	code, description string
}

// unknownApp answers a client id the tenant has no app registration for.
var unknownApp = &tokenError{http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier was not found in the directory."}

func (e *tokenError) write(w http.ResponseWriter) {
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// RegisterAppCertificate uploads a certificate to a partner's app
// registration ("Certificates & secrets"): token requests may then sign a
// client assertion with its key instead of sending a secret.
func (s *Simulator) RegisterAppCertificate(tenantID, clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[clientID]
	a.tenant = tenantID
	a.certs = append(a.certs, cert)
	s.apps[clientID] = a
}

// authenticateClient checks the client credentials of a token request: a
// client_secret, or a client_assertion signed by one of the app's
// certificates. With AcceptNewApps an unknown app is registered with what
// it first presents.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
func (s *Simulator) authenticateClient(r *http.Request) (app, *tokenError) {
	clientID, tenant := r.PostForm.Get("client_id"), r.PathValue("tenant")
	s.mu.Lock()
	a, ok := s.apps[clientID]
	s.mu.Unlock()
	if r.PostForm.Get("client_assertion") != "" {
		return s.checkAssertion(r, clientID, a, ok)
	}
	secret := r.PostForm.Get("client_secret")
	if !ok && s.AcceptNewApps && clientID != "" && secret != "" {
		a, ok = app{tenant: tenant, secret: secret}, true
		s.mu.Lock()
		s.apps[clientID] = a
		s.mu.Unlock()
	}
	switch {
	case !ok || a.tenant != tenant:
		return app{}, unknownApp
	case a.secret == "" || a.secret != secret:
		return app{}, &tokenError{http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided."}
	}
	return a, nil
}

// checkAssertion verifies a certificate credential as the page describes
// it: PS256 signature by a certificate of the app (found by x5t#S256), aud
// the token endpoint, iss and sub the client id, within nbf/exp.
// https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials
func (s *Simulator) checkAssertion(r *http.Request, clientID string, a app, known bool) (app, *tokenError) {
	invalid := func(desc string) (app, *tokenError) {
		return app{}, &tokenError{http.StatusUnauthorized, "invalid_client", desc}
	}
	if r.PostForm.Get("client_assertion_type") != entra.AssertionType {
		return app{}, &tokenError{http.StatusBadRequest, "invalid_request", "AADSTS50027: client_assertion_type must be " + entra.AssertionType}
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.PS256, jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return invalid("AADSTS50027: JWT token is invalid or malformed.")
	}
	if clientID == "" {
		return app{}, &tokenError{http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'."}
	}
	tenant := r.PathValue("tenant")
	var firstUse *x509.Certificate // registered once the assertion verifies
	if !known && s.AcceptNewApps {
		if firstUse = headerCertificate(r.PostForm.Get("client_assertion")); firstUse != nil {
			a, known = app{tenant: tenant, certs: []*x509.Certificate{firstUse}}, true
		}
	}
	if !known || a.tenant != tenant {
		return app{}, unknownApp
	}
	thumb, _ := tok.Headers[0].ExtraHeaders["x5t#S256"].(string)
	var cert *x509.Certificate
	for _, c := range a.certs {
		if entra.ThumbprintS256(c) == thumb {
			cert = c
		}
	}
	if cert == nil {
		return invalid("AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.")
	}
	var claims jwt.Claims
	if err := tok.Claims(cert.PublicKey, &claims); err != nil {
		return invalid("AADSTS700027: Client assertion failed signature validation.")
	}
	aud := "http://" + r.Host + r.URL.Path
	if r.TLS != nil {
		aud = "https://" + r.Host + r.URL.Path
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: clientID, Subject: clientID, AnyAudience: jwt.Audience{aud}, Time: time.Now()}, time.Minute); err != nil {
		return invalid("AADSTS700024: Client assertion is not valid (" + err.Error() + ").")
	}
	if firstUse != nil {
		s.RegisterAppCertificate(tenant, clientID, firstUse)
	}
	return a, nil
}

// headerCertificate reads the x5c certificate of an assertion's header
// without trusting it; only AcceptNewApps registers it.
func headerCertificate(assertion string) *x509.Certificate {
	head, _, _ := strings.Cut(assertion, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil
	}
	var h struct {
		X5C []string `json:"x5c"`
	}
	if json.Unmarshal(raw, &h) != nil || len(h.X5C) == 0 {
		return nil
	}
	der, err := base64.StdEncoding.DecodeString(h.X5C[0])
	if err != nil {
		return nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return cert
}
