package simulator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
)

// A customer's acceptance in the simulated admin center is what the
// provider's "Get partners of a customer" then lists, and what a domain's
// OpenID metadata names the tenant of.
func TestCustomerAcceptsResellerRelationship(t *testing.T) {
	ctx := context.Background()
	const provider, reseller, customer = partnerTenant, "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"
	sim := simulator.New()
	sim.RegisterApp(provider, clientID, secret)
	sim.AddCustomerTenant("contoso.example", customer)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	id, err := entra.TenantOfDomain(ctx, srv.Client(), srv.URL, "Contoso.example")
	require.NoError(t, err)
	require.Equal(t, customer, id)
	_, err = entra.TenantOfDomain(ctx, srv.Client(), srv.URL, "nobody.example")
	require.ErrorIs(t, err, entra.ErrTenantNotFound)

	pc := partnercenter.NewClient(ctx, partnercenter.Config{APIURL: srv.URL + simulator.PartnerCenterPrefix, LoginURL: srv.URL,
		TenantID: provider, ClientID: clientID, ClientSecret: secret, HTTPClient: srv.Client()})
	list, err := pc.CustomerPartners(ctx, customer)
	require.NoError(t, err, "not yet the provider's customer: no partners, not an error")
	require.Empty(t, list)

	// The customer's admin opens the link and accepts, through the stand-in page.
	link := partnercenter.ResellerRelationshipLink(srv.URL+simulator.AdminCenterPrefix, reseller, provider)
	resp, err := srv.Client().Get(link)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = srv.Client().PostForm(srv.URL+simulator.AdminCenterPrefix+"/partner-invitation/accept",
		url.Values{"partnerId": {reseller}, "indirectCSPId": {provider}, "tenant": {"contoso.example"}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	list, err = pc.CustomerPartners(ctx, customer)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, partnercenter.RelationshipIsIndirectResellerOf, list[0].RelationshipType)
	require.True(t, partnercenter.HasActivePartner(list, strings.ToUpper(reseller)))
	require.False(t, partnercenter.HasActivePartner(list, provider))
}

// The link is the admin center's partner invitation for an indirect
// reseller relationship with both partners named.
func TestResellerRelationshipLink(t *testing.T) {
	link := partnercenter.ResellerRelationshipLink("", "r-tenant", "p-tenant")
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, "admin.microsoft.com", u.Host)
	require.Equal(t, "/Adminportal/Home", u.Path)
	require.Equal(t, "/BillingAccounts/partner-invitation", u.Fragment)
	q := u.Query()
	require.Equal(t, "IndirectResellerRelationship", q.Get("invType"))
	require.Equal(t, "r-tenant", q.Get("partnerId"))
	require.Equal(t, "p-tenant", q.Get("indirectCSPId"))
}
