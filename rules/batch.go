package rules

import (
	"context"
	"errors"
	"slices"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// BatchStore loads, in a few queries, what the rules read for many
// customers of one reseller and one provider.
type BatchStore interface {
	Partner(ctx context.Context, id string) (models.Partner, error)
	PartnershipActive(ctx context.Context, providerID, resellerID string) (bool, error)
	CustomersOfPartnerByID(ctx context.Context, partnerID string, ids []string) (map[string]models.Customer, error)
	ActiveRelationshipsOf(ctx context.Context, resellerID, providerID string) ([]models.Relationship, error)
}

// Batch answers the rules' reads for many rows from memory: CheckExtension
// and CheckInvitationCustomer run over it exactly as over the database, so a
// bulk job's dry run applies the single routes' checks without a query per row.
type Batch struct {
	partners      map[string]models.Partner
	partnership   bool
	providerID    string
	resellerID    string
	customers     map[string]models.Customer
	relationships map[string][]models.Relationship // by customer
}

// LoadBatch reads the reseller, the provider, their partnership, the
// given customers (those on the reseller's list) and the active
// relationships of the reseller with the provider.
func LoadBatch(ctx context.Context, st BatchStore, reseller models.Partner, providerID string, customerIDs []string) (*Batch, error) {
	b := &Batch{partners: map[string]models.Partner{reseller.ID: reseller}, providerID: providerID, resellerID: reseller.ID,
		relationships: map[string][]models.Relationship{}}
	provider, err := st.Partner(ctx, providerID)
	switch {
	case err == nil:
		b.partners[provider.ID] = provider
		if b.partnership, err = st.PartnershipActive(ctx, providerID, reseller.ID); err != nil {
			return nil, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if b.customers, err = st.CustomersOfPartnerByID(ctx, reseller.ID, customerIDs); err != nil {
		return nil, err
	}
	rels, err := st.ActiveRelationshipsOf(ctx, reseller.ID, providerID)
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		b.relationships[r.CustomerID] = append(b.relationships[r.CustomerID], r)
	}
	return b, nil
}

// Partner is one of the two partners of the batch.
func (b *Batch) Partner(_ context.Context, id string) (models.Partner, error) {
	if p, ok := b.partners[id]; ok {
		return p, nil
	}
	return models.Partner{}, store.ErrNotFound
}

// CustomerOfPartner finds a loaded customer of the reseller.
func (b *Batch) CustomerOfPartner(_ context.Context, partnerID, customerID string) (models.Customer, error) {
	if c, ok := b.customers[customerID]; ok && partnerID == b.resellerID {
		return c, nil
	}
	return models.Customer{}, store.ErrNotFound
}

// PartnershipActive answers for the batch's pair.
func (b *Batch) PartnershipActive(_ context.Context, providerID, resellerID string) (bool, error) {
	return b.partnership && providerID == b.providerID && resellerID == b.resellerID, nil
}

// RelationshipActive answers for the batch's pair.
func (b *Batch) RelationshipActive(_ context.Context, customerID, providerID, resellerID string) (bool, error) {
	return providerID == b.providerID && resellerID == b.resellerID && len(b.relationships[customerID]) > 0, nil
}

// ActivePartnerships lists the batch's partnership when it is active.
func (b *Batch) ActivePartnerships(_ context.Context, resellerID string) ([]models.Partnership, error) {
	if !b.partnership || resellerID != b.resellerID {
		return nil, nil
	}
	return []models.Partnership{{ProviderID: b.providerID, ResellerID: b.resellerID, Status: models.PartnershipActive}}, nil
}

// CustomerRelationships lists a customer's loaded active relationships.
func (b *Batch) CustomerRelationships(_ context.Context, partnerID, customerID string, statuses ...string) ([]models.Relationship, error) {
	if partnerID != b.resellerID || (len(statuses) > 0 && !slices.Contains(statuses, models.RelationshipActive)) {
		return nil, nil
	}
	return b.relationships[customerID], nil
}
