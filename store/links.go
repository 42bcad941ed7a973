package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/csp-onboarding/onboarding/models"
)

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
