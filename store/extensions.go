package store

import (
	"context"
	"errors"

	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// CreateExtension inserts an extension; one may wait per customer and provider.
func (s *Store) CreateExtension(ctx context.Context, x *models.RelationshipExtension) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(x).Error
	if err != nil && isUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// Extension loads one extension.
func (s *Store) Extension(ctx context.Context, id string) (models.RelationshipExtension, error) {
	var x models.RelationshipExtension
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&x).Error
	return x, notFound(err)
}

// ListExtensions lists a partner's extensions, optionally by status.
func (s *Store) ListExtensions(ctx context.Context, partnerID, status string, page Page) ([]models.RelationshipExtension, string, error) {
	q := s.db.WithContext(ctx).Where("reseller_id = ? OR provider_id = ?", partnerID, partnerID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []models.RelationshipExtension
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(x models.RelationshipExtension) string { return x.ID })
	return out, next, nil
}

// SetExtensionStatus records an extension's status, and its consent and relationship once known.
func (s *Store) SetExtensionStatus(ctx context.Context, id, status, consentID, relationshipID string) error {
	updates := statusUpdates(status)
	if consentID != "" {
		updates["consent_id"] = consentID
	}
	if relationshipID != "" {
		updates["relationship_id"] = relationshipID
	}
	res := s.db.WithContext(ctx).Model(&models.RelationshipExtension{}).Where("id = ?", id).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// RecordConsent writes the consent record of an extension once, and returns
// the stored one (an earlier attempt's, on a retry).
func (s *Store) RecordConsent(ctx context.Context, c models.ConsentRecord) (models.ConsentRecord, error) {
	c.CreatedAt = now()
	c.ObtainedAt = c.ObtainedAt.UTC()
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error; err != nil {
		return c, err
	}
	return s.ConsentForExtension(ctx, c.ExtensionID)
}

// ConsentForExtension loads an extension's consent record.
func (s *Store) ConsentForExtension(ctx context.Context, extensionID string) (models.ConsentRecord, error) {
	var c models.ConsentRecord
	err := s.db.WithContext(ctx).Where("extension_id = ?", extensionID).Take(&c).Error
	return c, notFound(err)
}

// ShareBillTo gives a provider the snapshot, once per customer and provider.
func (s *Store) ShareBillTo(ctx context.Context, share models.BillToShare) error {
	if share.ConsentID == "" {
		return errors.New("a bill-to share needs a consent record")
	}
	share.CreatedAt = now()
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&share).Error
}

// BillToShare loads what a provider may see of a customer's bill-to info.
func (s *Store) BillToShare(ctx context.Context, customerID, providerID string) (models.BillToShare, error) {
	var b models.BillToShare
	err := s.db.WithContext(ctx).Where("customer_id = ? AND provider_id = ?", customerID, providerID).Take(&b).Error
	return b, notFound(err)
}

// PendingExtensionsForCustomer lists a partner's extensions still waiting for the customer's consent.
func (s *Store) PendingExtensionsForCustomer(ctx context.Context, partnerID, customerID string) ([]models.RelationshipExtension, error) {
	var out []models.RelationshipExtension
	err := s.db.WithContext(ctx).
		Where("(reseller_id = ? OR provider_id = ?) AND customer_id = ? AND status = ?", partnerID, partnerID, customerID, models.ExtensionWaitingForConsent).
		Order("id DESC").Limit(MaxPending).Find(&out).Error
	return out, err
}
