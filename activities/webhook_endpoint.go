package activities

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/csp-onboarding/onboarding/store"
)

// webhookEndpointStore is what the webhook endpoint activity reads.
type webhookEndpointStore interface {
	WebhookEndpointHealth(ctx context.Context, id string) (store.WebhookEndpointHealth, error)
}

// WebhookEndpointHealth is a webhook endpoint's delivery state, as the
// webhook-endpoint workflow shows it in the Temporal UI.
type WebhookEndpointHealth struct {
	EndpointID string `json:"endpoint_id"`
	PartnerID  string `json:"partner_id,omitempty"`
	// Target is the URL without its query: a partner may carry a token
	// there, and this goes into workflow history.
	Target         string     `json:"target,omitempty"`
	Deleted        bool       `json:"deleted,omitempty"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	FailedAttempts int        `json:"failed_attempts"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	LastResponse   string     `json:"last_response,omitempty"`
	LastFailureAt  *time.Time `json:"last_failure_at,omitempty"`
	Pending        int64      `json:"pending"`
	NextAttempt    *time.Time `json:"next_attempt,omitempty"`
}

// Failing tells whether the endpoint is enabled and has failed since its last success.
func (h WebhookEndpointHealth) Failing() bool {
	return !h.Deleted && h.Enabled && h.FailingSince != nil
}

// WebhookEndpointHealth reads an endpoint's delivery state from the outbox.
func (a *Activities) WebhookEndpointHealth(ctx context.Context, endpointID string) (WebhookEndpointHealth, error) {
	h, err := a.Store.WebhookEndpointHealth(ctx, endpointID)
	if err != nil {
		return WebhookEndpointHealth{}, fmt.Errorf("read webhook endpoint %s: %w", endpointID, err)
	}
	out := WebhookEndpointHealth{EndpointID: endpointID, PartnerID: h.PartnerID, Deleted: h.Deleted, Enabled: h.Enabled,
		DisabledReason: h.DisabledReason, FailingSince: h.FailingSince, FailedAttempts: h.FailedAttempts,
		LastStatusCode: h.LastStatusCode, LastError: h.LastError, LastResponse: h.LastResponse, LastFailureAt: h.LastFailureAt,
		Pending: h.Pending, NextAttempt: h.NextAttempt}
	if u, err := url.Parse(h.URL); err == nil {
		out.Target = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	return out, nil
}
