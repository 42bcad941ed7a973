package store

import (
	"context"
	"time"

	"github.com/csp-onboarding/onboarding/models"
)

// Relationship loads one reseller relationship.
func (s *Store) Relationship(ctx context.Context, id string) (models.Relationship, error) {
	var r models.Relationship
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	return r, notFound(err)
}

// EndRelationship ends an active reseller relationship and appends its
// timeline event, relationship_ended — which queues the parties' webhooks —
// in one transaction: a reader never sees the status without its event.
// Ending an ended relationship changes nothing; ended tells whether this
// call ended it. Of two calls at once, one ends it and the other finds it
// ended (the update is conditional on the status).
func (s *Store) EndRelationship(ctx context.Context, id, by, reason string, at time.Time) (r models.Relationship, ended bool, err error) {
	at = at.UTC()
	err = s.InTransaction(ctx, func(tx *Store) error {
		res := tx.db.Model(&models.Relationship{}).Where("id = ? AND status = ?", id, models.RelationshipActive).Updates(map[string]any{
			"status": models.RelationshipTerminated, "ended_at": at, "ended_by": by, "end_reason": reason, "updated_at": at})
		if res.Error != nil {
			return res.Error
		}
		if r, err = tx.Relationship(ctx, id); err != nil || res.RowsAffected == 0 {
			return err
		}
		seq, err := tx.LastEventSeq(ctx, id)
		if err != nil {
			return err
		}
		details := map[string]string{"ended_by": by, "customer_id": r.CustomerID, "provider_id": r.ProviderID, "reseller_id": r.ResellerID}
		if reason != "" {
			details["reason"] = reason
		}
		ended, err = tx.RecordEvent(ctx, "relationship", models.OnboardingEvent{SubjectID: id, Seq: seq + 1, Type: "relationship_ended", At: at, Details: details})
		return err
	})
	return r, ended, err
}
