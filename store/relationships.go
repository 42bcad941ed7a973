package store

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// CreateRelationship creates a reseller relationship under a workflow-chosen
// ID. If the triple already has an active relationship — this ID's from an
// earlier attempt, or another one — that one is returned: never two.
func (s *Store) CreateRelationship(ctx context.Context, r models.Relationship) (models.Relationship, error) {
	var out models.Relationship
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if r.CustomerTenantID == "" {
			var tenants []string
			if err := tx.Model(&models.Customer{}).Where("id = ?", r.CustomerID).Pluck("tenant_id", &tenants).Error; err != nil {
				return err
			}
			if len(tenants) == 1 {
				r.CustomerTenantID = tenants[0]
			}
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
		if res.Error != nil && !isUniqueViolation(res.Error) {
			return res.Error
		}
		if res.Error == nil && res.RowsAffected == 1 {
			out = r
			return nil
		}
		// Either this ID exists already or the partial unique index on the
		// active triple refused a second one.
		err := tx.Where("id = ?", r.ID).Take(&out).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			err = tx.Where("customer_id = ? AND provider_id = ? AND reseller_id = ? AND status = ?",
				r.CustomerID, r.ProviderID, r.ResellerID, models.RelationshipActive).Take(&out).Error
		}
		return err
	})
	return out, err
}

// RelationshipFilter narrows a relationship list.
type RelationshipFilter struct {
	CustomerID string
	Status     string
}

// ListRelationships lists the relationships a partner is party to.
func (s *Store) ListRelationships(ctx context.Context, partnerID string, f RelationshipFilter, page Page) ([]models.Relationship, string, error) {
	q := s.db.WithContext(ctx).Where("provider_id = ? OR reseller_id = ?", partnerID, partnerID)
	if f.CustomerID != "" {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var out []models.Relationship
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(r models.Relationship) string { return r.ID })
	return out, next, nil
}

// CustomerRelationships is every relationship of one customer that a
// partner is party to, newest first; with statuses, only those in them.
func (s *Store) CustomerRelationships(ctx context.Context, partnerID, customerID string, statuses ...string) ([]models.Relationship, error) {
	q := s.db.WithContext(ctx).Where("customer_id = ? AND (provider_id = ? OR reseller_id = ?)", customerID, partnerID, partnerID)
	if len(statuses) > 0 {
		q = q.Where("status IN ?", statuses)
	}
	var out []models.Relationship
	err := q.Order("id DESC").Find(&out).Error
	return out, err
}

// RelationshipActive tells whether the triple has an active relationship.
func (s *Store) RelationshipActive(ctx context.Context, customerID, providerID, resellerID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Relationship{}).
		Where("customer_id = ? AND provider_id = ? AND reseller_id = ? AND status = ?", customerID, providerID, resellerID, models.RelationshipActive).
		Count(&n).Error
	return n > 0, err
}
