package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
)

// RecordEvent appends a timeline event of an onboarding of the given kind and,
// in the same transaction and only when this call wrote it, queues one webhook
// delivery per subscribed, enabled endpoint of each partner party to the
// object. A retried activity finds the event written and queues nothing, so
// every event is queued exactly once.
func (s *Store) RecordEvent(ctx context.Context, kind string, e models.OnboardingEvent) (bool, error) {
	e.ID = fmt.Sprintf("%s:%d", e.SubjectID, e.Seq)
	e.At = e.At.UTC()
	wrote := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		wrote = true
		return queueWebhooks(tx, kind, e)
	})
	return wrote, err
}

// WebhookMessage is the body of every delivery (the Standard Webhooks shape:
// type, timestamp, data).
type WebhookMessage struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      WebhookData `json:"data"`
}

// WebhookData says which object the event is about; it is the timeline event.
type WebhookData struct {
	Object   string            `json:"object"`
	ObjectID string            `json:"object_id"`
	EventID  string            `json:"event_id"`
	Seq      int               `json:"seq"`
	Timeline string            `json:"timeline_event"`
	Details  map[string]string `json:"details,omitempty"`
}

func queueWebhooks(tx *gorm.DB, kind string, e models.OnboardingEvent) error {
	types := models.WebhookEventTypes[kind][e.Type]
	if len(types) == 0 {
		return nil
	}
	parties, err := partiesOf(tx, kind, e.SubjectID)
	if err != nil || len(parties) == 0 {
		return err
	}
	var endpoints []models.WebhookEndpoint
	if err := tx.Where("partner_id IN ? AND enabled = ?", parties, true).Order("id").Find(&endpoints).Error; err != nil {
		return err
	}
	for part, typ := range types {
		body, err := json.Marshal(WebhookMessage{Type: typ, Timestamp: e.At, Data: WebhookData{
			Object: kind, ObjectID: e.SubjectID, EventID: e.ID, Seq: e.Seq, Timeline: e.Type, Details: e.Details}})
		if err != nil {
			return err
		}
		for _, ep := range endpoints {
			if !ep.Subscribed(typ) {
				continue
			}
			d := newDelivery(ep.ID, e.ID, e.SubjectID, e.Seq, part, typ, string(body), e.At)
			if err := tx.Create(&d).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// partiesOf is who sees an object through the API (the same rules as the
// API's partyTo): each receives the object's events.
func partiesOf(tx *gorm.DB, kind, id string) ([]string, error) {
	var table string
	cols := "reseller_id, provider_id"
	switch kind {
	case "invitation":
		table = "invitations"
	case "partnership":
		table = "partnerships"
	case "extension":
		table = "relationship_extensions"
	case "tenant_request":
		table = "customer_tenant_requests"
	case "relationship":
		table = "relationships"
	case "delegated_admin":
		table, cols = "delegated_admin_relationships", "partner_id, ''"
	case "enrollment":
		return []string{id}, nil // the subject is the reseller itself
	default:
		return nil, nil
	}
	var row struct{ A, B string }
	err := tx.Raw("SELECT "+cols+" FROM "+table+" WHERE id = ?", id).Row().Scan(&row.A, &row.B)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := []string{row.A}
	if row.B != "" && row.B != row.A {
		out = append(out, row.B)
	}
	return out, nil
}

func newDelivery(endpointID, eventID, objectID string, seq, part int, typ, body string, at time.Time) models.WebhookDelivery {
	t := time.Now().UTC() // nanoseconds: the ID orders the rows of one transaction
	return models.WebhookDelivery{ID: NewDeliveryID(t), EndpointID: endpointID, EventID: eventID, ObjectID: objectID, Seq: seq, Part: part,
		Type: typ, Payload: body, EventAt: at, Status: models.WebhookPending, NextAttemptAt: t, CreatedAt: t, UpdatedAt: t}
}

// NewDeliveryID makes a message ID that sorts by creation time, so the
// delivery log pages newest first by ID.
func NewDeliveryID(t time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("msg_%016x%s", t.UnixNano(), hex.EncodeToString(b))
}

// CreateWebhookEndpoint inserts an endpoint.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *models.WebhookEndpoint) error {
	e.CreatedAt, e.UpdatedAt = now(), now()
	return s.db.WithContext(ctx).Create(e).Error
}

// WebhookEndpoint loads one endpoint.
func (s *Store) WebhookEndpoint(ctx context.Context, id string) (models.WebhookEndpoint, error) {
	var e models.WebhookEndpoint
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&e).Error
	return e, notFound(err)
}

// ListWebhookEndpoints lists a partner's endpoints.
func (s *Store) ListWebhookEndpoints(ctx context.Context, partnerID string, page Page) ([]models.WebhookEndpoint, string, error) {
	var out []models.WebhookEndpoint
	if err := page.apply(s.db.WithContext(ctx).Where("partner_id = ?", partnerID)).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(e models.WebhookEndpoint) string { return e.ID })
	return out, next, nil
}

// SaveWebhookEndpoint writes an endpoint's editable fields (URL, events,
// description, enabled and its failure state, secrets).
func (s *Store) SaveWebhookEndpoint(ctx context.Context, e *models.WebhookEndpoint) error {
	e.UpdatedAt = now()
	res := s.db.WithContext(ctx).Model(&models.WebhookEndpoint{}).Where("id = ?", e.ID).Updates(map[string]any{
		"url": e.URL, "events": mustJSON(e.Events), "description": e.Description, "enabled": e.Enabled,
		"disabled_reason": e.DisabledReason, "failing_since": e.FailingSince, "failed_attempts": e.FailedAttempts,
		"secret_sealed": e.SecretSealed, "previous_secret_sealed": e.PreviousSecretSealed, "previous_secret_until": e.PreviousSecretUntil,
		"updated_at": e.UpdatedAt})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteWebhookEndpoint removes an endpoint and its delivery log.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("endpoint_id = ?", id).Delete(&models.WebhookDelivery{}).Error; err != nil {
			return err
		}
		res := tx.Where("id = ?", id).Delete(&models.WebhookEndpoint{})
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNotFound
		}
		return res.Error
	})
}

// QueueWebhookPing queues a test message to one endpoint.
func (s *Store) QueueWebhookPing(ctx context.Context, endpointID string) (models.WebhookDelivery, error) {
	t := now()
	body, err := json.Marshal(WebhookMessage{Type: models.WebhookPing, Timestamp: t, Data: WebhookData{Object: "webhook_endpoint", ObjectID: endpointID}})
	if err != nil {
		return models.WebhookDelivery{}, err
	}
	// Each ping is its own object, so it never waits behind a failing event.
	d := newDelivery(endpointID, "", "", 0, 0, models.WebhookPing, string(body), t)
	d.ObjectID = "ping:" + d.ID
	return d, s.db.WithContext(ctx).Create(&d).Error
}

// WebhookDeliveryFilter narrows the delivery log.
type WebhookDeliveryFilter struct {
	Status string
}

// ListWebhookDeliveries pages an endpoint's deliveries, newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID string, f WebhookDeliveryFilter, page Page) ([]models.WebhookDelivery, string, error) {
	q := s.db.WithContext(ctx).Where("endpoint_id = ?", endpointID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var out []models.WebhookDelivery
	if err := page.apply(q).Find(&out).Error; err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, page.Limit, func(d models.WebhookDelivery) string { return d.ID })
	return out, next, nil
}

// WebhookDelivery loads one delivery of an endpoint.
func (s *Store) WebhookDelivery(ctx context.Context, endpointID, id string) (models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	err := s.db.WithContext(ctx).Where("endpoint_id = ? AND id = ?", endpointID, id).Take(&d).Error
	return d, notFound(err)
}

// Redeliver puts deliveries back in the queue with a fresh set of attempts
// (same message ID, so receivers that deduplicate keep doing so). A row a
// dispatcher holds right now is left alone. It returns how many were queued.
func (s *Store) Redeliver(ctx context.Context, endpointID string, deliveryID string, since *time.Time) (int64, error) {
	q := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).Where("endpoint_id = ?", endpointID).
		Where("NOT (status = ? AND lease_until IS NOT NULL AND lease_until > ?)", models.WebhookPending, now())
	if deliveryID != "" {
		q = q.Where("id = ?", deliveryID)
	}
	if since != nil {
		q = q.Where("event_at >= ?", since.UTC())
	}
	res := q.Updates(map[string]any{"status": models.WebhookPending, "attempts": 0, "next_attempt_at": now(),
		"lease_until": nil, "last_error": "", "updated_at": now()})
	return res.RowsAffected, res.Error
}

// ClaimWebhookDeliveries leases up to limit due deliveries of enabled
// endpoints for lease. Only the oldest pending delivery of each object is
// due, so an object's events go out in order; a row leased by a dispatcher
// that died becomes due again when its lease ends. Several dispatchers
// (worker replicas) share the queue: Postgres skips rows another has locked,
// SQLite has a single writer.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]models.WebhookDelivery, error) {
	var out []models.WebhookDelivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := now()
		q := `SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
WHERE d.status = ? AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?) AND ep.enabled = ?
AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.object_id = d.object_id
  AND e.status = ? AND (e.seq < d.seq OR (e.seq = d.seq AND e.part < d.part)))
ORDER BY d.next_attempt_at, d.id LIMIT ?`
		if s.dialect == migrations.Postgres {
			q += " FOR UPDATE OF d SKIP LOCKED"
		}
		if err := tx.Raw(q, models.WebhookPending, t, t, true, models.WebhookPending, limit).Scan(&out).Error; err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]string, len(out))
		until := t.Add(lease)
		for i := range out {
			ids[i] = out[i].ID
			out[i].LeaseUntil = &until
		}
		return tx.Model(&models.WebhookDelivery{}).Where("id IN ?", ids).Updates(map[string]any{"lease_until": until, "updated_at": t}).Error
	})
	return out, err
}

// WebhookAttempt is the outcome of one delivery attempt.
type WebhookAttempt struct {
	StatusCode int
	Response   string
	Error      string
	Succeeded  bool
	// Next is when to try again; zero means give up (status failed).
	Next time.Time
	// Gone disables the endpoint (it answered 410).
	Gone bool
	// DisableAfter disables the endpoint when it has been failing this long.
	DisableAfter time.Duration
}

// WebhookAttemptResult says what recording an attempt changed.
type WebhookAttemptResult struct {
	EndpointDisabled bool
	DisabledReason   string
	// Failing: the endpoint has failed since its last success (this attempt failed).
	Failing bool
	// Recovered: this attempt succeeded after failures.
	Recovered bool
}

// RecordWebhookAttempt writes an attempt's outcome and the endpoint's
// failure state in one transaction. A disabled endpoint's other pending
// deliveries stay pending: re-enabling it sends them.
func (s *Store) RecordWebhookAttempt(ctx context.Context, d models.WebhookDelivery, a WebhookAttempt) (WebhookAttemptResult, error) {
	var out WebhookAttemptResult
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := now()
		updates := map[string]any{"attempts": gorm.Expr("attempts + 1"), "lease_until": nil, "last_status_code": a.StatusCode,
			"last_response": a.Response, "last_error": a.Error, "updated_at": t}
		switch {
		case a.Succeeded:
			updates["status"], updates["delivered_at"] = models.WebhookSucceeded, t
		case a.Gone || a.Next.IsZero():
			updates["status"] = models.WebhookFailed
		default:
			updates["next_attempt_at"] = a.Next.UTC()
		}
		if err := tx.Model(&models.WebhookDelivery{}).Where("id = ?", d.ID).Updates(updates).Error; err != nil {
			return err
		}
		var ep models.WebhookEndpoint
		if err := tx.Where("id = ?", d.EndpointID).Take(&ep).Error; err != nil {
			return notFound(err)
		}
		epUpdates := map[string]any{}
		if a.Succeeded {
			if ep.FailingSince != nil || ep.FailedAttempts > 0 {
				out.Recovered = true
				epUpdates["failing_since"], epUpdates["failed_attempts"] = nil, 0
			}
		} else {
			out.Failing = true
			epUpdates["failed_attempts"] = gorm.Expr("failed_attempts + 1")
		}
		switch {
		case a.Succeeded:
		case a.Gone:
			out.DisabledReason = "the endpoint answered 410 Gone"
		case ep.FailingSince == nil:
			epUpdates["failing_since"] = t
		case a.DisableAfter > 0 && t.Sub(*ep.FailingSince) >= a.DisableAfter:
			out.DisabledReason = fmt.Sprintf("every delivery failed since %s", ep.FailingSince.Format(time.RFC3339))
		}
		if out.DisabledReason != "" && ep.Enabled {
			out.EndpointDisabled = true
			epUpdates["enabled"], epUpdates["disabled_reason"] = false, out.DisabledReason
		}
		if len(epUpdates) == 0 {
			return nil
		}
		epUpdates["updated_at"] = t
		return tx.Model(&models.WebhookEndpoint{}).Where("id = ?", ep.ID).Updates(epUpdates).Error
	})
	return out, err
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
