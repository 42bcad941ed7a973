package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// CustomerDomainTaken tells whether a customer already has the domain.
func (s *Store) CustomerDomainTaken(ctx context.Context, domain string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Customer{}).Where("lower(domain) = lower(?)", domain).Count(&n).Error
	return n > 0, err
}

// CreateTenantRequest inserts a request; a domain with an open request is a conflict.
func (s *Store) CreateTenantRequest(ctx context.Context, r *models.CustomerTenantRequest) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(r).Error
	if err != nil && isUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// TenantRequest loads one request.
func (s *Store) TenantRequest(ctx context.Context, id string) (models.CustomerTenantRequest, error) {
	var r models.CustomerTenantRequest
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	return r, notFound(err)
}

// ListTenantRequests lists the requests a partner is party to.
func (s *Store) ListTenantRequests(ctx context.Context, partnerID, status string, page Page) ([]models.CustomerTenantRequest, string, error) {
	q := s.db.WithContext(ctx).Where("reseller_id = ? OR provider_id = ?", partnerID, partnerID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []models.CustomerTenantRequest
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(r models.CustomerTenantRequest) string { return r.ID })
	return out, next, nil
}

// SetTenantRequestStatus records a request's status and what it produced.
func (s *Store) SetTenantRequestStatus(ctx context.Context, id, status, reason, customerID, relationshipID string) error {
	updates := statusUpdates(status)
	if reason != "" {
		updates["reason"] = reason
	}
	if customerID != "" {
		updates["customer_id"] = customerID
	}
	if relationshipID != "" {
		updates["relationship_id"] = relationshipID
	}
	res := s.db.WithContext(ctx).Model(&models.CustomerTenantRequest{}).Where("id = ?", id).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// SetTenantID records the tenant the provider created.
func (s *Store) SetTenantID(ctx context.Context, id, tenantID string) error {
	return s.db.WithContext(ctx).Model(&models.CustomerTenantRequest{}).Where("id = ?", id).
		Updates(map[string]any{"tenant_id": tenantID, "updated_at": now()}).Error
}

// DelegatedAdmin loads one delegated admin relationship.
func (s *Store) DelegatedAdmin(ctx context.Context, id string) (models.DelegatedAdminRelationship, error) {
	var d models.DelegatedAdminRelationship
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&d).Error
	return d, notFound(err)
}

// DelegatedAdminFilter narrows the list of delegated admin relationships.
type DelegatedAdminFilter struct {
	CustomerID   string
	Status       string
	EndingBefore *time.Time
}

// ListDelegatedAdmins lists a partner's delegated admin relationships.
func (s *Store) ListDelegatedAdmins(ctx context.Context, partnerID string, f DelegatedAdminFilter, page Page) ([]models.DelegatedAdminRelationship, string, error) {
	q := s.db.WithContext(ctx).Where("partner_id = ?", partnerID)
	if f.CustomerID != "" {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.EndingBefore != nil {
		q = q.Where("ends_at < ?", f.EndingBefore.UTC())
	}
	var out []models.DelegatedAdminRelationship
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(d models.DelegatedAdminRelationship) string { return d.ID })
	return out, next, nil
}

// UpdateDelegatedAdmin records a lifecycle change: status, end date, extensions.
func (s *Store) UpdateDelegatedAdmin(ctx context.Context, id, status string, endsAt time.Time, extensions int, autoExtend bool) error {
	return s.UpdateDelegatedAdminAt(ctx, id, status, DelegatedAdminUpdate{EndsAt: endsAt, Extensions: extensions, AutoExtend: autoExtend})
}

// DelegatedAdminUpdate is a delegated admin relationship's lifecycle state.
// The zero ActivatedAt and GraphRelationshipID leave the row's as they are.
type DelegatedAdminUpdate struct {
	EndsAt              time.Time
	Extensions          int
	AutoExtend          bool
	ActivatedAt         time.Time // set when Microsoft reports the relationship active
	GraphRelationshipID string    // set once the relationship exists at Microsoft
}

// UpdateDelegatedAdminAt writes a delegated admin relationship's status and state.
func (s *Store) UpdateDelegatedAdminAt(ctx context.Context, id, status string, u DelegatedAdminUpdate) error {
	updates := statusUpdates(status)
	updates["ends_at"], updates["extensions"], updates["auto_extend"] = u.EndsAt.UTC(), u.Extensions, u.AutoExtend
	if !u.ActivatedAt.IsZero() {
		updates["activated_at"] = u.ActivatedAt.UTC()
	}
	if u.GraphRelationshipID != "" {
		updates["graph_relationship_id"] = u.GraphRelationshipID
	}
	if status == models.DelegatedAdminTerminated {
		updates["terminated_at"] = now()
	}
	res := s.db.WithContext(ctx).Model(&models.DelegatedAdminRelationship{}).Where("id = ?", id).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DelegatedAdminByGraphID finds the delegated admin relationship whose GDAP
// relationship has this id in Microsoft Graph (the Partner Center webhooks
// name relationships so); its lifecycle workflow is
// models.DelegatedAdminLifecycle.WorkflowID(d.ID).
func (s *Store) DelegatedAdminByGraphID(ctx context.Context, graphRelationshipID string) (models.DelegatedAdminRelationship, error) {
	var d models.DelegatedAdminRelationship
	if graphRelationshipID == "" {
		return d, ErrNotFound
	}
	err := s.db.WithContext(ctx).Where("graph_relationship_id = ?", graphRelationshipID).Take(&d).Error
	return d, notFound(err)
}

// DomainHolder says whether a partner may be told who holds a domain: the
// customer registered to it when that customer is on the partner's list, or
// the partner's own waiting tenant request for it. Found is false when the
// domain is held by someone the partner must not learn about (or by nobody).
func (s *Store) DomainHolder(ctx context.Context, partnerID, domain string) (customerID, requestID string, err error) {
	var c models.Customer
	err = s.db.WithContext(ctx).
		Where("lower(domain) = lower(?) AND (created_by = ? OR id IN (SELECT customer_id FROM customer_partners WHERE partner_id = ?))", domain, partnerID, partnerID).
		Take(&c).Error
	if err == nil {
		return c.ID, "", nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", "", err
	}
	var r models.CustomerTenantRequest
	err = s.db.WithContext(ctx).Where("lower(domain) = lower(?) AND reseller_id = ? AND status = ?", domain, partnerID, models.TenantRequestWaitingForProvider).
		Take(&r).Error
	if err == nil {
		return "", r.ID, nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", "", nil
	}
	return "", "", err
}
