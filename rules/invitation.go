package rules

import (
	"context"
	"errors"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// InvitationStore is what the invitation rules read.
type InvitationStore interface {
	CustomerOfPartner(ctx context.Context, partnerID, customerID string) (models.Customer, error)
	RelationshipActive(ctx context.Context, customerID, providerID, resellerID string) (bool, error)
}

// CheckInvitationCustomer checks an invitation of one of the reseller's
// customers: the customer is the reseller's, and has no active relationship
// with the reseller and the provider yet.
func CheckInvitationCustomer(ctx context.Context, st InvitationStore, resellerID, providerID, customerID string) error {
	_, err := invitationCustomer(ctx, st, resellerID, providerID, customerID)
	return err
}

// invitationCustomer loads the customer CheckInvitationCustomer checks.
func invitationCustomer(ctx context.Context, st InvitationStore, resellerID, providerID, customerID string) (models.Customer, error) {
	cust, err := st.CustomerOfPartner(ctx, resellerID, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return cust, &Violation{CustomerNotFound, "no customer with this id among yours"}
	}
	if err != nil {
		return cust, err
	}
	exists, err := st.RelationshipActive(ctx, cust.ID, providerID, resellerID)
	if err != nil {
		return cust, err
	}
	if exists {
		return cust, &Violation{RelationshipExists, "this customer already has an active relationship with you and this provider"}
	}
	return cust, nil
}
