package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

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
