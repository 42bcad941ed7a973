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
// empty for a customer new to the product.
type Invitation struct {
	ResellerID string
	ProviderID string
	CustomerID string
}

// Parties are what a check loaded, so the caller does not load them again.
type Parties struct {
	Provider models.Partner
	Customer *models.Customer // nil: a new customer
}

// CheckInvitation checks that the provider is one, that the reseller's
// partnership with it is active (R3) and, for an existing customer, that it
// is the reseller's and has no active relationship with both already.
func CheckInvitation(ctx context.Context, st Store, inv Invitation) (Parties, error) {
	var p Parties
	provider, err := st.Partner(ctx, inv.ProviderID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && provider.Type != models.PartnerTypeIndirectProvider) {
		return p, &InvalidField{Field: "provider_id", Message: "is not an indirect provider"}
	}
	if err != nil {
		return p, err
	}
	p.Provider = provider
	active, err := st.PartnershipActive(ctx, provider.ID, inv.ResellerID)
	if err != nil {
		return p, err
	}
	if !active {
		return p, &Violation{PartnershipNotActive, "you have no active partnership with the provider " + provider.ID +
			"; the provider invites you (POST /v1/partnerships) and you accept it first"}
	}
	if inv.CustomerID == "" {
		return p, nil
	}
	customer, err := st.CustomerOfPartner(ctx, inv.ResellerID, inv.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return p, &InvalidField{Field: "customer.customer_id", Message: "is not one of your customers"}
	}
	if err != nil {
		return p, err
	}
	exists, err := st.RelationshipActive(ctx, customer.ID, provider.ID, inv.ResellerID)
	if err != nil {
		return p, err
	}
	if exists {
		return p, &Violation{RelationshipExists, "this customer already has an active relationship with you and " + provider.Name}
	}
	p.Customer = &customer
	return p, nil
}
