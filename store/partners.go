package store

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/csp-onboarding/onboarding/models"
)

// Page is one page of a list, newest first. IDs are UUIDv7, so ordering by
// ID is ordering by creation and the last ID is the cursor.
type Page struct {
	Cursor string
	Limit  int
}

func (p Page) apply(q *gorm.DB) *gorm.DB {
	if p.Cursor != "" {
		q = q.Where("id < ?", p.Cursor)
	}
	return q.Order("id DESC").Limit(p.Limit + 1)
}

// nextCursor trims the look-ahead row and returns the cursor of the next page.
func nextCursor[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[len(items)-1])
}

// CreatePartner inserts a partner.
func (s *Store) CreatePartner(ctx context.Context, p *models.Partner) error {
	if err := s.db.WithContext(ctx).Create(p).Error; err != nil {
		if isUniqueViolation(err) {
			return ErrConflict
		}
		return err
	}
	return nil
}

// Partner loads a partner by ID.
func (s *Store) Partner(ctx context.Context, id string) (models.Partner, error) {
	var p models.Partner
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&p).Error
	return p, notFound(err)
}

// PartnerByAPIKeyHash finds the partner that owns an API key.
func (s *Store) PartnerByAPIKeyHash(ctx context.Context, hash string) (models.Partner, error) {
	var p models.Partner
	err := s.db.WithContext(ctx).Where("api_key_hash = ?", hash).Take(&p).Error
	return p, notFound(err)
}

// CreatePartnership inserts an invited partnership; a pair that already has an
// open or active partnership is a conflict.
func (s *Store) CreatePartnership(ctx context.Context, p *models.Partnership) error {
	if err := s.db.WithContext(ctx).Create(p).Error; err != nil {
		if isUniqueViolation(err) {
			return ErrConflict
		}
		return err
	}
	return nil
}

// Partnership loads one partnership.
func (s *Store) Partnership(ctx context.Context, id string) (models.Partnership, error) {
	var p models.Partnership
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&p).Error
	return p, notFound(err)
}

// ListPartnerships lists the partnerships a partner is party to.
func (s *Store) ListPartnerships(ctx context.Context, partnerID, status string, page Page) ([]models.Partnership, string, error) {
	q := s.db.WithContext(ctx).Where("provider_id = ? OR reseller_id = ?", partnerID, partnerID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []models.Partnership
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(p models.Partnership) string { return p.ID })
	return out, next, nil
}

// PartnershipActive tells whether the provider and reseller have an active partnership.
func (s *Store) PartnershipActive(ctx context.Context, providerID, resellerID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Partnership{}).
		Where("provider_id = ? AND reseller_id = ? AND status = ?", providerID, resellerID, models.PartnershipActive).
		Count(&n).Error
	return n > 0, err
}

// SetPartnershipStatus records a partnership's decision; it is idempotent.
func (s *Store) SetPartnershipStatus(ctx context.Context, id, status string) error {
	at := now()
	updates := map[string]any{"status": status, "updated_at": at}
	if status != models.PartnershipInvited {
		updates["decided_at"] = at
	}
	res := s.db.WithContext(ctx).Model(&models.Partnership{}).Where("id = ?", id).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ErrIdempotencyKeyReused means the same key came with a different request.
var ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
