package store

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// AppendEvent adds a timeline step once: the ID is "<subject>:<seq>". It
// tells whether this call wrote it (false on a retry).
func (s *Store) AppendEvent(ctx context.Context, e models.OnboardingEvent) (bool, error) {
	e.ID = fmt.Sprintf("%s:%d", e.SubjectID, e.Seq)
	e.At = e.At.UTC()
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
	return res.RowsAffected == 1, res.Error
}

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
