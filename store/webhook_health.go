package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/csp-onboarding/onboarding/models"
)

// WebhookEndpointHealth is an endpoint's delivery state as an operator needs
// it: is it failing, since when, how often, what it last answered, and when
// the next attempt is due.
type WebhookEndpointHealth struct {
	EndpointID     string
	PartnerID      string
	URL            string
	Deleted        bool
	Enabled        bool
	DisabledReason string
	FailingSince   *time.Time
	FailedAttempts int
	// The last failed attempt: its status code (0 when no answer came), the
	// error and the answer's first bytes.
	LastStatusCode int
	LastError      string
	LastResponse   string
	LastFailureAt  *time.Time
	// Pending deliveries and the earliest next attempt among them.
	Pending     int64
	NextAttempt *time.Time
}

// WebhookEndpointHealth reads an endpoint's delivery state; a deleted
// endpoint is reported as such, not as an error.
func (s *Store) WebhookEndpointHealth(ctx context.Context, id string) (WebhookEndpointHealth, error) {
	h := WebhookEndpointHealth{EndpointID: id}
	db := s.db.WithContext(ctx)
	var ep models.WebhookEndpoint
	if err := db.Where("id = ?", id).Take(&ep).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		h.Deleted = true
		return h, nil
	} else if err != nil {
		return h, err
	}
	h.PartnerID, h.URL, h.Enabled, h.DisabledReason = ep.PartnerID, ep.URL, ep.Enabled, ep.DisabledReason
	h.FailingSince, h.FailedAttempts = ep.FailingSince, ep.FailedAttempts
	var last models.WebhookDelivery
	err := db.Where("endpoint_id = ? AND last_error <> ''", id).Order("updated_at DESC").Limit(1).Find(&last).Error
	if err != nil {
		return h, err
	}
	if last.ID != "" {
		at := last.UpdatedAt
		h.LastStatusCode, h.LastError, h.LastResponse, h.LastFailureAt = last.LastStatusCode, last.LastError, last.LastResponse, &at
	}
	pending := db.Model(&models.WebhookDelivery{}).Where("endpoint_id = ? AND status = ?", id, models.WebhookPending)
	if err := pending.Count(&h.Pending).Error; err != nil || h.Pending == 0 {
		return h, err
	}
	var first models.WebhookDelivery
	if err := db.Where("endpoint_id = ? AND status = ?", id, models.WebhookPending).Order("next_attempt_at").Limit(1).Find(&first).Error; err != nil {
		return h, err
	}
	h.NextAttempt = &first.NextAttemptAt
	return h, nil
}
