package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
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

// SetInvitationStatus records an invitation's status (and its relationship once made).
// SetInvitationCustomerEmail records a corrected customer address.
func (s *Store) SetInvitationCustomerEmail(ctx context.Context, id, email string) error {
	res := s.db.WithContext(ctx).Model(&models.Invitation{}).Where("id = ?", id).
		Updates(map[string]any{"customer_email": email, "updated_at": now()})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

func (s *Store) SetInvitationStatus(ctx context.Context, id, status string, relationshipID string) error {
	updates := statusUpdates(status)
	if relationshipID != "" {
		updates["relationship_id"] = relationshipID
	}
	res := s.db.WithContext(ctx).Model(&models.Invitation{}).Where("id = ?", id).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
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

// AppendEvent adds a timeline step once: the ID is "<subject>:<seq>". It
// tells whether this call wrote it (false on a retry).
func (s *Store) AppendEvent(ctx context.Context, e models.OnboardingEvent) (bool, error) {
	e.ID = fmt.Sprintf("%s:%d", e.SubjectID, e.Seq)
	e.At = e.At.UTC()
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
	return res.RowsAffected == 1, res.Error
}

// Bounds of the lists embedded in a single answer (a timeline, a customer's
// pending onboardings), so no answer grows with a partner's activity; the
// paged list routes give the rest.
const (
	MaxEvents  = 500
	MaxPending = 50
)

// LastEventSeq is the highest timeline sequence of a subject (0 for none),
// so that a new run on the same subject (an enrollment submitted again after
// a rejection) continues its timeline instead of colliding with it.
func (s *Store) LastEventSeq(ctx context.Context, subjectID string) (int, error) {
	var last *int
	err := s.db.WithContext(ctx).Model(&models.OnboardingEvent{}).Where("subject_id = ?", subjectID).Select("MAX(seq)").Scan(&last).Error
	if err != nil || last == nil {
		return 0, err
	}
	return *last, nil
}

// CountWaiting counts, by kind, the onboardings waiting on someone else.
func (s *Store) CountWaiting(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, l := range models.Lifecycles {
		if l.Waiting == "" {
			continue
		}
		var n int64
		if err := s.db.WithContext(ctx).Table(l.Table).Where("status = ?", l.Waiting).Count(&n).Error; err != nil {
			return nil, err
		}
		out[l.Kind] = n
	}
	return out, nil
}

// Events returns an onboarding's timeline in order.
func (s *Store) Events(ctx context.Context, subjectID string) ([]models.OnboardingEvent, error) {
	var out []models.OnboardingEvent
	err := s.db.WithContext(ctx).Where("subject_id = ?", subjectID).Order("seq").Limit(MaxEvents).Find(&out).Error
	return out, err
}

// LinkToken loads a link by the hash of its token.
func (s *Store) LinkToken(ctx context.Context, hash string) (models.LinkToken, error) {
	var t models.LinkToken
	err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&t).Error
	return t, notFound(err)
}

// CloseLinkTokens marks every link of a subject used, so that no link works
// once its process has decided or ended.
// The sealed links of its e-mails go too: a link that cannot work is not kept.
func (s *Store) CloseLinkTokens(ctx context.Context, subjectID string, at time.Time) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.LinkToken{}).Where("subject_id = ? AND used_at IS NULL", subjectID).
			Update("used_at", at.UTC()).Error; err != nil {
			return err
		}
		return tx.Model(&models.OutboxMessage{}).Where("link_subject_id = ? AND sealed_link IS NOT NULL", subjectID).
			Update("sealed_link", nil).Error
	})
}

// SupersedeLinkTokens closes a subject's open links of one purpose because a
// newer one is being sent; their page then says so.
func (s *Store) SupersedeLinkTokens(ctx context.Context, subjectID, purpose string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&models.LinkToken{}).
		Where("subject_id = ? AND purpose = ? AND used_at IS NULL", subjectID, purpose).
		Updates(map[string]any{"used_at": at.UTC(), "superseded_at": at.UTC()}).Error
}

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

// CreateRelationship creates a reseller relationship under a workflow-chosen
// ID. If the triple already has an active relationship — this ID's from an
// earlier attempt, or another one — that one is returned: never two.
func (s *Store) CreateRelationship(ctx context.Context, r models.Relationship) (models.Relationship, error) {
	var out models.Relationship
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
