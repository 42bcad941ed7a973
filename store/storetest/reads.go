package storetest

import (
	"context"
	"time"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// What tests read and write around the product's own store functions: the
// product never needs these, so they are not part of store.

// CountRelationships counts the relationships of a triple (tests assert "once").
func CountRelationships(ctx context.Context, st *store.Store, customerID, providerID, resellerID string) (int64, error) {
	var n int64
	err := st.DB().WithContext(ctx).Model(&models.Relationship{}).
		Where("customer_id = ? AND provider_id = ? AND reseller_id = ?", customerID, providerID, resellerID).
		Count(&n).Error
	return n, err
}

// MessagesTo lists the e-mails to an address, oldest first.
func MessagesTo(ctx context.Context, st *store.Store, to string) ([]models.OutboxMessage, error) {
	var out []models.OutboxMessage
	err := st.DB().WithContext(ctx).Where("to_addr = ?", to).Order("created_at").Find(&out).Error
	return out, err
}

// CreateLinkToken stores a personal link's hash, as the SendEmail activity does.
func CreateLinkToken(ctx context.Context, st *store.Store, t models.LinkToken) error {
	t.CreatedAt = time.Now().UTC()
	return st.DB().WithContext(ctx).Create(&t).Error
}
