package store

import (
	"context"
	"strings"

	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// CreateInvitation inserts an invitation; inserting the same ID again is a no-op
// so that a retried start never fails on its own earlier write.
func (s *Store) CreateInvitation(ctx context.Context, inv *models.Invitation) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(inv).Error
}

// Invitation loads one invitation.
func (s *Store) Invitation(ctx context.Context, id string) (models.Invitation, error) {
	var inv models.Invitation
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&inv).Error
	return inv, notFound(err)
}

// ListInvitations lists a reseller's invitations, optionally by status.
func (s *Store) ListInvitations(ctx context.Context, resellerID, status string, page Page) ([]models.Invitation, string, error) {
	q := s.db.WithContext(ctx).Where("reseller_id = ?", resellerID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []models.Invitation
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(i models.Invitation) string { return i.ID })
	return out, next, nil
}

// SetInvitationCustomerEmail records a corrected customer address.
func (s *Store) SetInvitationCustomerEmail(ctx context.Context, id, email string) error {
	return s.updateInvitation(ctx, id, map[string]any{"customer_email": email, "updated_at": now()})
}

// SetInvitationCustomerTenant records the customer's tenant of an invitation.
func (s *Store) SetInvitationCustomerTenant(ctx context.Context, id, tenantID string) error {
	return s.updateInvitation(ctx, id, map[string]any{"customer_tenant_id": tenantID, "updated_at": now()})
}

// InvitationsWaitingForTenant are the invitations waiting for Partner
// Center that name a customer tenant (a webhook's ResourceUri).
func (s *Store) InvitationsWaitingForTenant(ctx context.Context, tenantID string) ([]models.Invitation, error) {
	var out []models.Invitation
	err := s.db.WithContext(ctx).Where("customer_tenant_id = ? AND status = ?", strings.ToLower(tenantID), models.InvitationWaitingForPartnerCenter).
		Order("created_at").Limit(100).Find(&out).Error
	return out, err
}

// SetInvitationStatus records an invitation's status (and its relationship once made).
func (s *Store) SetInvitationStatus(ctx context.Context, id, status string, relationshipID string) error {
	updates := statusUpdates(status)
	if relationshipID != "" {
		updates["relationship_id"] = relationshipID
	}
	return s.updateInvitation(ctx, id, updates)
}

// updateInvitation writes columns of one invitation; ErrNotFound when it does not exist.
func (s *Store) updateInvitation(ctx context.Context, id string, columns map[string]any) error {
	res := s.db.WithContext(ctx).Model(&models.Invitation{}).Where("id = ?", id).Updates(columns)
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// statusUpdates starts the columns of a progress update. An empty status
// means a timeline event only: the status column is left as it is, so an
// older event recorded late never writes over a newer decision.
func statusUpdates(status string) map[string]any {
	updates := map[string]any{"updated_at": now()}
	if status != "" {
		updates["status"] = status
	}
	return updates
}

// Bounds of the lists embedded in a single answer (a timeline, a customer's
// pending onboardings), so no answer grows with a partner's activity; the
// paged list routes give the rest.
const (
	MaxEvents  = 500
	MaxPending = 50
)

// UpsertDelegatedAdmin records a delegated admin grant under a workflow-chosen ID, once.
func (s *Store) UpsertDelegatedAdmin(ctx context.Context, d *models.DelegatedAdminRelationship) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(d).Error
}

// DelegatedAdminForRelationship loads the grant made with a relationship.
func (s *Store) DelegatedAdminForRelationship(ctx context.Context, relationshipID string) (models.DelegatedAdminRelationship, error) {
	var d models.DelegatedAdminRelationship
	err := s.db.WithContext(ctx).Where("relationship_id = ?", relationshipID).Take(&d).Error
	return d, notFound(err)
}

// PendingInvitationsForCustomer lists a partner's invitations still waiting on the customer.
func (s *Store) PendingInvitationsForCustomer(ctx context.Context, partnerID, customerID string) ([]models.Invitation, error) {
	var out []models.Invitation
	err := s.db.WithContext(ctx).
		Where("(reseller_id = ? OR provider_id = ?) AND customer_id = ? AND status = ?", partnerID, partnerID, customerID, models.InvitationWaitingForCustomer).
		Order("id DESC").Limit(MaxPending).Find(&out).Error
	return out, err
}
