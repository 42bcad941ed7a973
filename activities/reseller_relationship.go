package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
)

// ErrTypeCustomerTenantNotFound: the customer's address is on a domain no
// Microsoft Entra tenant has verified, so its tenant is unknown.
const ErrTypeCustomerTenantNotFound = "CustomerTenantNotFound"

// CustomerTenantOfDomain finds the customer's tenant id from the domain of
// its contact address (entra.TenantOfDomain). A domain no tenant has is a
// final error: the reseller must invite an address on the customer's
// Microsoft 365 domain.
func (g *GDAP) CustomerTenantOfDomain(ctx context.Context, domain string) (string, error) {
	id, err := entra.TenantOfDomain(ctx, g.httpClient(), g.Microsoft.LoginURL, domain)
	if errors.Is(err, entra.ErrTenantNotFound) {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no Microsoft Entra tenant has the domain %s: invite the customer at an address on its Microsoft 365 domain", domain),
			ErrTypeCustomerTenantNotFound, err)
	}
	if err != nil {
		return "", err
	}
	activity.GetLogger(ctx).Info("Customer tenant found from its domain", "domain", domain, "customer_tenant_id", id)
	return id, nil
}

// ResellerRelationshipCheck asks Partner Center, as the provider, whether
// the customer accepted the reseller relationship with the reseller.
type ResellerRelationshipCheck struct {
	ProviderID       string // whose Microsoft connection asks
	CustomerTenantID string
	ResellerTenantID string
}

// ResellerRelationshipAccepted reads the provider's view of the customer's
// partners ("Get partners of a customer") and tells whether the reseller
// is among them: the customer's admin accepted at Microsoft.
func (g *GDAP) ResellerRelationshipAccepted(ctx context.Context, in ResellerRelationshipCheck) (bool, error) {
	c, cred, err := g.connection(ctx, in.ProviderID)
	if err != nil {
		return false, err
	}
	pc := partnercenter.NewClient(ctx, partnercenter.Config{APIURL: g.PartnerCenterURL, LoginURL: g.Microsoft.LoginURL, TenantID: c.TenantID,
		ClientID: c.ClientID, ClientSecret: cred.ClientSecret, Certificate: cred.Certificate, HTTPClient: g.HTTPClient})
	list, err := pc.CustomerPartners(ctx, in.CustomerTenantID)
	if err != nil {
		return false, err
	}
	return partnercenter.HasActivePartner(list, in.ResellerTenantID), nil
}

func (g *GDAP) httpClient() *http.Client {
	if g.HTTPClient != nil {
		return g.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}
