package simulator_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
	"github.com/csp-onboarding/onboarding/microsoft/entra/entratest"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
)

// certificateSimulator serves a simulator whose app registration holds one
// certificate (and no secret); bundle is that certificate and its key.
func certificateSimulator(t *testing.T) (*httptest.Server, []byte) {
	t.Helper()
	sim := simulator.New()
	bundle, cert := entratest.Certificate(t, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	sim.RegisterAppCertificate(partnerTenant, clientID, cert)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return srv, bundle
}

func certificateClient(t *testing.T, srv *httptest.Server, cert *entra.Certificate) *graph.Client {
	t.Helper()
	return graph.New(context.Background(), graph.Config{GraphURL: srv.URL + simulator.GraphPrefix, LoginURL: srv.URL,
		TenantID: partnerTenant, ClientID: clientID, Certificate: cert, HTTPClient: srv.Client()})
}

func parsed(t *testing.T, bundle []byte) *entra.Certificate {
	t.Helper()
	c, err := entra.ParseCertificate(bundle, time.Now())
	require.NoError(t, err)
	return c
}

// A certificate uploaded to the app registration stands for its secret: the
// client signs an assertion for each token request, and Graph calls work.
func TestCertificateCredential(t *testing.T) {
	srv, bundle := certificateSimulator(t)

	c := certificateClient(t, srv, parsed(t, bundle))
	require.NoError(t, c.CheckCredentials(context.Background()))
	_, _, err := c.FindRelationship(context.Background(), "x")
	require.NoError(t, err)

	// A certificate the app does not hold is Microsoft's final refusal.
	otherBundle, _ := entratest.Certificate(t, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	ge := graphErr(t, certificateClient(t, srv, parsed(t, otherBundle)).CheckCredentials(context.Background()))
	require.Equal(t, "token:invalid_client", ge.Code)
	require.Contains(t, ge.Message, "AADSTS700027")
	require.False(t, ge.Retryable())

	// The app has no secret: an empty or any secret is refused.
	for _, sec := range []string{"", "guess"} {
		c := graph.New(context.Background(), graph.Config{GraphURL: srv.URL + simulator.GraphPrefix, LoginURL: srv.URL,
			TenantID: partnerTenant, ClientID: clientID, ClientSecret: sec, HTTPClient: srv.Client()})
		require.Equal(t, "token:invalid_client", graphErr(t, c.CheckCredentials(context.Background())).Code, "secret %q", sec)
	}
}

// The token endpoint checks what the page requires of an assertion.
func TestAssertionChecks(t *testing.T) {
	srv, bundle := certificateSimulator(t)
	c := parsed(t, bundle)
	tokenURL := srv.URL + "/" + partnerTenant + "/oauth2/v2.0/token"
	post := func(assertion, assertionType, client string) (int, string) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "scope": {"https://graph.microsoft.com/.default"},
			"client_assertion_type": {assertionType}, "client_assertion": {assertion}}
		resp, err := srv.Client().PostForm(tokenURL, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	good, err := c.Assertion(clientID, tokenURL, time.Now())
	require.NoError(t, err)
	status, _ := post(good, entra.AssertionType, clientID)
	require.Equal(t, http.StatusOK, status)

	stale, _ := c.Assertion(clientID, tokenURL, time.Now().Add(-time.Hour))
	wrongAud, _ := c.Assertion(clientID, "https://login.microsoftonline.com/other/oauth2/v2.0/token", time.Now())
	otherClient, _ := c.Assertion("d3c2b1a0-0000-4000-8000-000000000001", tokenURL, time.Now())
	for name, tc := range map[string]struct {
		assertion, typ, client string
		status                 int
		code                   string
	}{
		"expired":              {stale, entra.AssertionType, clientID, 401, "AADSTS700024"},
		"another audience":     {wrongAud, entra.AssertionType, clientID, 401, "AADSTS700024"},
		"iss is not client":    {otherClient, entra.AssertionType, clientID, 401, "AADSTS700024"},
		"tampered":             {good[:len(good)-4] + "AAAA", entra.AssertionType, clientID, 401, "AADSTS700027"},
		"not a JWT":            {"abc", entra.AssertionType, clientID, 401, "AADSTS50027"},
		"wrong assertion type": {good, "jwt", clientID, 400, "AADSTS50027"},
		"no client_id":         {good, entra.AssertionType, "", 400, "AADSTS900144"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := post(tc.assertion, tc.typ, tc.client)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, body, tc.code)
		})
	}
}

// MICROSOFT_MODE=simulated: the first assertion of an unknown app
// registers its certificate (from x5c); another certificate is then refused.
func TestAcceptNewAppsRegistersTheFirstCertificate(t *testing.T) {
	sim := simulator.New()
	sim.AcceptNewApps = true
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	bundle, _ := entratest.Certificate(t, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	require.NoError(t, certificateClient(t, srv, parsed(t, bundle)).CheckCredentials(context.Background()))
	require.NoError(t, certificateClient(t, srv, parsed(t, bundle)).CheckCredentials(context.Background()))
	other, _ := entratest.Certificate(t, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	require.Error(t, certificateClient(t, srv, parsed(t, other)).CheckCredentials(context.Background()))
}
