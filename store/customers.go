package store

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// UpsertCustomer creates a customer under a workflow-chosen ID, once.
func (s *Store) UpsertCustomer(ctx context.Context, c *models.Customer) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(c).Error
}

// Customer loads one customer.
func (s *Store) Customer(ctx context.Context, id string) (models.Customer, error) {
	var c models.Customer
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// CustomerOfPartner loads a customer only if it is on the partner's list.
func (s *Store) CustomerOfPartner(ctx context.Context, partnerID, customerID string) (models.Customer, error) {
	var c models.Customer
	err := s.db.WithContext(ctx).
		Where("id = ? AND (created_by = ? OR id IN (SELECT customer_id FROM customer_partners WHERE partner_id = ?))", customerID, partnerID, partnerID).
		Take(&c).Error
	return c, notFound(err)
}

// LinkCustomerToPartner puts a customer on a partner's list, once.
func (s *Store) LinkCustomerToPartner(ctx context.Context, customerID, partnerID, role string) error {
	link := models.CustomerPartner{CustomerID: customerID, PartnerID: partnerID, Role: role, CreatedAt: now()}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&link).Error
}

// ListCustomers lists the customers on a partner's list.
func (s *Store) ListCustomers(ctx context.Context, partnerID, acquiredVia string, page Page) ([]models.Customer, string, error) {
	q := s.db.WithContext(ctx).
		Where("created_by = ? OR id IN (SELECT customer_id FROM customer_partners WHERE partner_id = ?)", partnerID, partnerID)
	if acquiredVia != "" {
		q = q.Where("acquired_via = ?", acquiredVia)
	}
	var out []models.Customer
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(c models.Customer) string { return c.ID })
	return out, next, nil
}

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
