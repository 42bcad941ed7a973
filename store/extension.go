package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// CreateCustomer registers a customer on its creator's list; a domain that
// already belongs to a customer is a conflict.
func (s *Store) CreateCustomer(ctx context.Context, c *models.Customer, role string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(c).Error; err != nil {
			if isUniqueViolation(err) {
				return ErrConflict
			}
			return err
		}
		return tx.Create(&models.CustomerPartner{CustomerID: c.ID, PartnerID: c.CreatedBy, Role: role, CreatedAt: c.CreatedAt}).Error
	})
}

// Enrollment loads a reseller's enrollment.
func (s *Store) Enrollment(ctx context.Context, partnerID string) (models.Enrollment, error) {
	var e models.Enrollment
	err := s.db.WithContext(ctx).Where("partner_id = ?", partnerID).Take(&e).Error
	return e, notFound(err)
}

// SubmitEnrollment records a submission: a first one, or a new one after a rejection.
func (s *Store) SubmitEnrollment(ctx context.Context, partnerID, workflowID string) (models.Enrollment, error) {
	// Milliseconds survive every database's round trip exactly: the time
	// names the submission its workflow run is for.
	at := now().Truncate(time.Millisecond)
	e := models.Enrollment{PartnerID: partnerID, Status: models.EnrollmentSubmitted, WorkflowID: workflowID, SubmittedAt: at, UpdatedAt: at}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "partner_id"}},
			DoUpdates: clause.Assignments(map[string]any{"status": e.Status, "reason": "", "submitted_at": at, "decided_at": nil, "updated_at": at}),
			Where:     clause.Where{Exprs: []clause.Expression{clause.Eq{Column: clause.Column{Table: "enrollments", Name: "status"}, Value: models.EnrollmentRejected}}},
		}).Create(&e)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrConflict // submitted or approved already
		}
		// The new submission's run must start even if this process dies first.
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.WorkflowStart{
			WorkflowID: workflowID, Kind: "enrollment", SubjectID: partnerID, CreatedAt: at}).Error; err != nil {
			return err
		}
		return tx.Model(&models.Partner{}).Where("id = ?", partnerID).Updates(map[string]any{"enrollment_status": e.Status, "updated_at": at}).Error
	})
	return e, err
}

// SetEnrollmentStatus records an operator's decision on the enrollment and the partner.
func (s *Store) SetEnrollmentStatus(ctx context.Context, partnerID, status, reason string) error {
	at := now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if status == "" {
			// An event only (a reminder): the enrollment is unchanged.
			return notFound(tx.Where("partner_id = ?", partnerID).Take(&models.Enrollment{}).Error)
		}
		updates := map[string]any{"status": status, "reason": reason, "updated_at": at}
		if status != models.EnrollmentSubmitted {
			updates["decided_at"] = at
		}
		res := tx.Model(&models.Enrollment{}).Where("partner_id = ?", partnerID).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Model(&models.Partner{}).Where("id = ?", partnerID).Updates(map[string]any{"enrollment_status": status, "updated_at": at}).Error
	})
}

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

// RelationshipActive tells whether the triple has an active relationship.
func (s *Store) RelationshipActive(ctx context.Context, customerID, providerID, resellerID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Relationship{}).
		Where("customer_id = ? AND provider_id = ? AND reseller_id = ? AND status = ?", customerID, providerID, resellerID, models.RelationshipActive).
		Count(&n).Error
	return n > 0, err
}

// ActivePartnerships lists a reseller's active partnerships (for order eligibility).
func (s *Store) ActivePartnerships(ctx context.Context, resellerID string) ([]models.Partnership, error) {
	var out []models.Partnership
	err := s.db.WithContext(ctx).Where("reseller_id = ? AND status = ?", resellerID, models.PartnershipActive).Order("id").Find(&out).Error
	return out, err
}

// PendingExtensionsForCustomer lists a partner's extensions still waiting for the customer's consent.
func (s *Store) PendingExtensionsForCustomer(ctx context.Context, partnerID, customerID string) ([]models.RelationshipExtension, error) {
	var out []models.RelationshipExtension
	err := s.db.WithContext(ctx).
		Where("(reseller_id = ? OR provider_id = ?) AND customer_id = ? AND status = ?", partnerID, partnerID, customerID, models.ExtensionWaitingForConsent).
		Order("id DESC").Find(&out).Error
	return out, err
}
