package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/migrations"
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

// CreatePartner inserts a partner with its first API key. The key's hash
// comes in p.APIKeyHash (or as key); it is stored in api_keys, and the
// partners column keeps a placeholder.
func (s *Store) CreatePartner(ctx context.Context, p *models.Partner, key ...models.APIKey) error {
	row := *p
	row.APIKeyHash = "api_keys:" + p.ID
	if len(key) == 0 && p.APIKeyHash != "" {
		key = []models.APIKey{{ID: "key-" + p.ID, Hash: p.APIKeyHash}}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for _, k := range key {
			k.PartnerID, k.CreatedAt = p.ID, p.CreatedAt
			if err := tx.Create(&k).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && isUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// Partner loads a partner by ID.
func (s *Store) Partner(ctx context.Context, id string) (models.Partner, error) {
	var p models.Partner
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&p).Error
	return p, notFound(err)
}

// APIKeyByHash finds an API key that is not revoked, and its partner. The
// caller checks expiry and whether the partner is disabled, to say which.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (models.APIKey, models.Partner, error) {
	var k models.APIKey
	if err := s.db.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hash).Take(&k).Error; err != nil {
		return k, models.Partner{}, notFound(err)
	}
	p, err := s.Partner(ctx, k.PartnerID)
	return k, p, err
}

// TouchAPIKey records when a key was last used.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&models.APIKey{}).Where("id = ?", id).Update("last_used_at", at.UTC()).Error
}

// APIKeys lists a partner's keys that are neither revoked nor expired, oldest first.
func (s *Store) APIKeys(ctx context.Context, partnerID string) ([]models.APIKey, error) {
	var out []models.APIKey
	err := activeKeys(s.db.WithContext(ctx), partnerID).Order("created_at, id").Find(&out).Error
	return out, err
}

func activeKeys(db *gorm.DB, partnerID string) *gorm.DB {
	return db.Where("partner_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", partnerID, now())
}

// lockPartner serialises key changes of one partner (SQLite writes one
// transaction at a time already).
func (s *Store) lockPartner(tx *gorm.DB, partnerID string) error {
	q := tx.Model(&models.Partner{}).Select("id").Where("id = ?", partnerID)
	if s.dialect == migrations.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var p models.Partner
	return notFound(q.Take(&p).Error)
}

// ErrTooManyKeys: the partner holds models.MaxActiveAPIKeys active keys already.
var ErrTooManyKeys = errors.New("too many active API keys")

// ErrLastKey: revoking this key would leave the partner without one.
var ErrLastKey = errors.New("the last active API key")

// CreateAPIKey adds a key unless the partner holds the most it may.
func (s *Store) CreateAPIKey(ctx context.Context, k *models.APIKey) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockPartner(tx, k.PartnerID); err != nil {
			return err
		}
		var n int64
		if err := activeKeys(tx.Model(&models.APIKey{}), k.PartnerID).Count(&n).Error; err != nil {
			return err
		}
		if n >= models.MaxActiveAPIKeys {
			return ErrTooManyKeys
		}
		k.CreatedAt = now()
		return tx.Create(k).Error
	})
}

// RevokeAPIKey revokes one of a partner's keys. With keepOne, the partner's
// last active key is refused (ErrLastKey), so a partner cannot lock itself out.
func (s *Store) RevokeAPIKey(ctx context.Context, partnerID, keyID string, keepOne bool) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockPartner(tx, partnerID); err != nil {
			return err
		}
		var k models.APIKey
		if err := tx.Where("id = ? AND partner_id = ? AND revoked_at IS NULL", keyID, partnerID).Take(&k).Error; err != nil {
			return notFound(err)
		}
		if keepOne {
			var others int64
			if err := activeKeys(tx.Model(&models.APIKey{}), partnerID).Where("id <> ?", keyID).Count(&others).Error; err != nil {
				return err
			}
			if others == 0 {
				return ErrLastKey
			}
		}
		return tx.Model(&models.APIKey{}).Where("id = ?", keyID).Update("revoked_at", now()).Error
	})
}

// DisablePartner refuses every key of a partner from now on.
func (s *Store) DisablePartner(ctx context.Context, id string) error {
	at := now()
	res := s.db.WithContext(ctx).Model(&models.Partner{}).Where("id = ? AND disabled_at IS NULL", id).
		Updates(map[string]any{"disabled_at": at, "updated_at": at})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		if _, err := s.Partner(ctx, id); err != nil {
			return err
		}
	}
	return nil
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

// PartnershipsOf is every partnership a partner is party to, newest first
// (a partner's own page: a provider's resellers, a reseller's providers).
func (s *Store) PartnershipsOf(ctx context.Context, partnerID string) ([]models.Partnership, error) {
	var out []models.Partnership
	err := s.db.WithContext(ctx).Where("provider_id = ? OR reseller_id = ?", partnerID, partnerID).Order("id DESC").Find(&out).Error
	return out, err
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
	updates := statusUpdates(status)
	if status != "" && status != models.PartnershipInvited {
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

// ActivePartnerships lists a reseller's active partnerships (for order eligibility).
func (s *Store) ActivePartnerships(ctx context.Context, resellerID string) ([]models.Partnership, error) {
	var out []models.Partnership
	err := s.db.WithContext(ctx).Where("reseller_id = ? AND status = ?", resellerID, models.PartnershipActive).Order("id").Find(&out).Error
	return out, err
}
