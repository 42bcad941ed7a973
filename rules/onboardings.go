package rules

import (
	"context"
	"errors"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// InvalidField is a request field that names something it may not: the API
// answers it as a validation problem on that field.
type InvalidField struct {
	Field   string
	Message string
}

func (f *InvalidField) Error() string { return f.Field + ": " + f.Message }

// Invitation is a reseller's request to invite a customer; CustomerID is
// empty for a customer new to the product, known by Contact.Email.
type Invitation struct {
	Reseller   models.Partner
	ProviderID string
	CustomerID string
	Contact    Contact
}

// Parties are what a check loaded, so the caller does not load them again.
type Parties struct {
	Provider models.Partner
	Customer *models.Customer // nil: a new customer
}

// CheckInvitation checks that the provider is one, that the reseller's
// partnership with it is active (R3); for a new customer, that its address
// is not the reseller's or the provider's (CheckContact); for an existing
// customer, that it is the reseller's and has no active relationship with
// both already (its address was checked when it was registered).
func CheckInvitation(ctx context.Context, st Store, inv Invitation) (Parties, error) {
	var p Parties
	provider, err := activeProvider(ctx, st, inv.Reseller.ID, inv.ProviderID, "the provider invites you (POST /v1/partnerships) and you accept it first")
	if err != nil {
		return p, err
	}
	p.Provider = provider
	if inv.CustomerID == "" {
		return p, CheckContact(inv.Contact, inv.Reseller, provider)
	}
	customer, err := invitationCustomer(ctx, st, inv.Reseller.ID, provider.ID, inv.CustomerID)
	if v, ok := AsViolation(err); ok && v.Code == CustomerNotFound {
		return p, &InvalidField{Field: "customer.customer_id", Message: "is not one of your customers"}
	}
	if err != nil {
		return p, err
	}
	p.Customer = &customer
	return p, nil
}

// TenantRequest is a reseller's request that its provider create a tenant.
type TenantRequest struct {
	ResellerID string
	ProviderID string
}

// CheckTenantRequest checks that the provider is one and that the
// reseller's partnership with it is active (R3); it returns the provider.
func CheckTenantRequest(ctx context.Context, st Store, r TenantRequest) (Parties, error) {
	provider, err := activeProvider(ctx, st, r.ResellerID, r.ProviderID, "only your providers create tenants for you")
	return Parties{Provider: provider}, err
}

// activeProvider loads the provider a request names and checks the
// reseller's partnership with it; next says what to do about a missing one.
func activeProvider(ctx context.Context, st Store, resellerID, providerID, next string) (models.Partner, error) {
	provider, err := st.Partner(ctx, providerID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && provider.Type != models.PartnerTypeIndirectProvider) {
		return models.Partner{}, &InvalidField{Field: "provider_id", Message: "is not an indirect provider"}
	}
	if err != nil {
		return models.Partner{}, err
	}
	active, err := st.PartnershipActive(ctx, provider.ID, resellerID)
	if err != nil {
		return models.Partner{}, err
	}
	if !active {
		return models.Partner{}, &Violation{PartnershipNotActive, "you have no active partnership with the provider " + provider.ID + "; " + next}
	}
	return provider, nil
}
