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
	ListRelationships(ctx context.Context, partnerID string, f store.RelationshipFilter, page store.Page) ([]models.Relationship, string, error)
}

// CheckInvitationCustomer checks an invitation of one of the reseller's
// customers: the customer is the reseller's, and has no active relationship
// with the reseller and the provider yet.
func CheckInvitationCustomer(ctx context.Context, st InvitationStore, resellerID, providerID, customerID string) error {
	cust, err := st.CustomerOfPartner(ctx, resellerID, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return &Violation{CustomerNotFound, "no customer with this id among yours"}
	}
	if err != nil {
		return err
	}
	rels, _, err := st.ListRelationships(ctx, resellerID, store.RelationshipFilter{CustomerID: cust.ID, Status: models.RelationshipActive}, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	for _, r := range rels {
		if r.ProviderID == providerID && r.ResellerID == resellerID {
			return &Violation{RelationshipExists, "this customer already has an active relationship with you and this provider"}
		}
	}
	return nil
}
