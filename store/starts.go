package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// CreateOnboarding inserts an onboarding's row together with its pending
// workflow start and, when the request carried one, its Idempotency-Key, in
// one transaction: a key is never bound to a row that does not exist, and a
// row never exists without a record that its workflow must be started.
//
// When the key was claimed meanwhile by the same request (a concurrent
// duplicate), nothing is written and that request's resource ID is returned.
// A row that clashes with a unique index is ErrConflict, and then the key
// stays free.
func (s *Store) CreateOnboarding(ctx context.Context, key *models.IdempotencyKey, row any, start models.WorkflowStart) (existingID string, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var claimed bool
		if existingID, claimed, err = claimKey(tx, key); err != nil || !claimed {
			return err
		}
		if err := tx.Create(row).Error; err != nil {
			if isUniqueViolation(err) {
				return ErrConflict
			}
			return err
		}
		start.CreatedAt = now()
		return tx.Create(&start).Error
	})
	return existingID, err
}

// claimKey binds a request's Idempotency-Key inside a creating
// transaction. claimed is false when the same request claimed it first;
// existingID is then that request's resource. Without a key it claims.
func claimKey(tx *gorm.DB, key *models.IdempotencyKey) (existingID string, claimed bool, err error) {
	if key == nil {
		return "", true, nil
	}
	key.CreatedAt = now()
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(key)
	if res.Error != nil || res.RowsAffected == 1 {
		return "", res.Error == nil, res.Error
	}
	existingID, err = boundResource(tx, *key)
	return existingID, false, err
}

// IdempotentResource returns the resource a partner's Idempotency-Key is
// bound to, if any; a key bound to a different request is
// ErrIdempotencyKeyReused.
func (s *Store) IdempotentResource(ctx context.Context, k models.IdempotencyKey) (resourceID string, found bool, err error) {
	id, err := boundResource(s.db.WithContext(ctx), k)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	return id, err == nil, err
}

func boundResource(db *gorm.DB, k models.IdempotencyKey) (string, error) {
	var existing models.IdempotencyKey
	if err := db.Where("partner_id = ? AND key = ?", k.PartnerID, k.Key).Take(&existing).Error; err != nil {
		return "", err
	}
	if existing.Operation != k.Operation || existing.RequestHash != k.RequestHash {
		return "", ErrIdempotencyKeyReused
	}
	return existing.ResourceID, nil
}

// ForgetIdempotencyKey frees a key whose resource was never written (a claim
// made by an older version before its insert failed).
func (s *Store) ForgetIdempotencyKey(ctx context.Context, partnerID, key string) error {
	return s.db.WithContext(ctx).Where("partner_id = ? AND key = ?", partnerID, key).Delete(&models.IdempotencyKey{}).Error
}

// AddPendingStart records that a workflow must be started (kept if present).
func (s *Store) AddPendingStart(ctx context.Context, start models.WorkflowStart) error {
	start.CreatedAt = now()
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&start).Error
}

// PendingStart tells whether a workflow's start is still unconfirmed.
func (s *Store) PendingStart(ctx context.Context, workflowID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.WorkflowStart{}).Where("workflow_id = ?", workflowID).Count(&n).Error
	return n > 0, err
}

// StartConfirmed forgets a pending start: Temporal has the workflow, or the
// onboarding was ended without one.
func (s *Store) StartConfirmed(ctx context.Context, workflowID string) error {
	return s.db.WithContext(ctx).Where("workflow_id = ?", workflowID).Delete(&models.WorkflowStart{}).Error
}

// PendingStarts lists starts still unconfirmed that were recorded before a
// time, oldest first.
func (s *Store) PendingStarts(ctx context.Context, before time.Time, limit int) ([]models.WorkflowStart, error) {
	var out []models.WorkflowStart
	err := s.db.WithContext(ctx).Where("created_at < ?", before.UTC()).Order("created_at").Limit(limit).Find(&out).Error
	return out, err
}
