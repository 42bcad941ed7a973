package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// SaveMicrosoftConnection creates or replaces a partner's connection.
func (s *Store) SaveMicrosoftConnection(ctx context.Context, c *models.MicrosoftConnection) error {
	at := now()
	c.UpdatedAt = at
	if c.Credential == "" {
		c.Credential = models.MicrosoftClientSecret
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = at
	}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "partner_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"tenant_id", "client_id", "secret_sealed", "credential",
			"certificate_thumbprint", "certificate_expires_at", "status", "last_error", "last_success_at", "updated_at"}),
	}).Create(c).Error
}

// MicrosoftConnection loads a partner's connection (ErrNotFound without one).
func (s *Store) MicrosoftConnection(ctx context.Context, partnerID string) (models.MicrosoftConnection, error) {
	var c models.MicrosoftConnection
	err := s.db.WithContext(ctx).Where("partner_id = ?", partnerID).Take(&c).Error
	return c, notFound(err)
}

// DeleteMicrosoftConnection removes a partner's connection; false when there was none.
func (s *Store) DeleteMicrosoftConnection(ctx context.Context, partnerID string) (bool, error) {
	res := s.db.WithContext(ctx).Where("partner_id = ?", partnerID).Delete(&models.MicrosoftConnection{})
	return res.RowsAffected > 0, res.Error
}

// RecordMicrosoftCall notes the outcome of a call made with a partner's
// connection: its status, and when Microsoft last accepted one.
func (s *Store) RecordMicrosoftCall(ctx context.Context, partnerID string, callErr string) error {
	at := now()
	updates := map[string]any{"status": models.MicrosoftConnected, "last_error": "", "last_success_at": at, "updated_at": at}
	if callErr != "" {
		updates = map[string]any{"status": models.MicrosoftFailing, "last_error": callErr, "updated_at": at}
	}
	return s.db.WithContext(ctx).Model(&models.MicrosoftConnection{}).Where("partner_id = ?", partnerID).Updates(updates).Error
}

// SaveDelegatedAdminAssignments replaces a partner's access assignment configuration.
func (s *Store) SaveDelegatedAdminAssignments(ctx context.Context, partnerID string, a []models.AccessAssignment) error {
	c := models.DelegatedAdminAssignmentConfig{PartnerID: partnerID, Assignments: a, UpdatedAt: now()}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "partner_id"}}, DoUpdates: clause.AssignmentColumns([]string{"assignments", "updated_at"}),
	}).Create(&c).Error
}

// DelegatedAdminAssignments loads a partner's access assignments (none when never set).
func (s *Store) DelegatedAdminAssignments(ctx context.Context, partnerID string) (models.DelegatedAdminAssignmentConfig, error) {
	var c models.DelegatedAdminAssignmentConfig
	err := s.db.WithContext(ctx).Where("partner_id = ?", partnerID).Take(&c).Error
	if err = notFound(err); err == ErrNotFound {
		return models.DelegatedAdminAssignmentConfig{PartnerID: partnerID, Assignments: []models.AccessAssignment{}, UpdatedAt: time.Time{}}, nil
	}
	return c, err
}
