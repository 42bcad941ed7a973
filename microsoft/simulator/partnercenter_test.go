package simulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
)

// The simulated Partner Center answers only tokens asked for its own
// resource, refuses a validation event before test-created is registered,
// and delivers only the events a partner registered for.
func TestSimulatedPartnerCenter(t *testing.T) {
	ctx := context.Background()
	sim := simulator.New()
	sim.RegisterApp(partnerTenant, clientID, secret)
	signer, err := simulator.NewWebhookSigner()
	require.NoError(t, err)
	t.Cleanup(signer.Close)
	sim.Signer = signer
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"), r.Header.Get(partnercenter.HeaderCertificateURL), r.Header.Get(partnercenter.HeaderSignatureAlgorithm))
	}))
	t.Cleanup(hook.Close)

	pc := partnercenter.NewClient(ctx, partnercenter.Config{APIURL: srv.URL + simulator.PartnerCenterPrefix, LoginURL: srv.URL,
		TenantID: partnerTenant, ClientID: clientID, ClientSecret: secret, HTTPClient: srv.Client()})

	// A Graph token is not a Partner Center token.
	graphToken, err := (&clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: srv.URL + "/" + partnerTenant + "/oauth2/v2.0/token",
		Scopes: []string{"https://graph.microsoft.com/.default"}, AuthStyle: oauth2.AuthStyleInParams}).Token(ctx)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+simulator.PartnerCenterPrefix+"/webhooks/v1/registration", nil)
	req.Header.Set("Authorization", "Bearer "+graphToken.AccessToken)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	_, err = pc.Register(ctx, hook.URL, []string{partnercenter.EventGDAPRelationshipApproved})
	require.NoError(t, err)
	_, err = pc.SendValidationEvent(ctx)
	var pe *partnercenter.Error
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, http.StatusBadRequest, pe.Status)

	_, err = sim.Deliver(ctx, partnerTenant, partnercenter.Event{EventName: partnercenter.EventGDAPRelationshipExpired})
	require.ErrorContains(t, err, "not registered")
	d, err := sim.Deliver(ctx, partnerTenant, partnercenter.Event{EventName: partnercenter.EventGDAPRelationshipApproved,
		ResourceURI: "https://partner.microsoft.com/granularAdminRelationships/r1"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, d.Status)
	require.Len(t, got, 3)
	require.Regexp(t, `^Signature [A-Za-z0-9+/=]+$`, got[0])
	require.Equal(t, signer.CertURL(), got[1])
	require.Equal(t, "rsa-sha256", got[2])
}
