package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/webhooks"
)

// webhookStore is what the webhook endpoint handlers read and write.
type webhookStore interface {
	CreateWebhookEndpoint(ctx context.Context, e *models.WebhookEndpoint) error
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	ListWebhookDeliveries(ctx context.Context, endpointID string, f store.WebhookDeliveryFilter, page store.Page) ([]models.WebhookDelivery, string, error)
	ListWebhookEndpoints(ctx context.Context, partnerID string, page store.Page) ([]models.WebhookEndpoint, string, error)
	QueueWebhookPing(ctx context.Context, endpointID string) (models.WebhookDelivery, error)
	Redeliver(ctx context.Context, endpointID string, deliveryID string, since *time.Time) (int64, error)
	SaveWebhookEndpoint(ctx context.Context, e *models.WebhookEndpoint) error
	WebhookDelivery(ctx context.Context, endpointID, id string) (models.WebhookDelivery, error)
	WebhookEndpoint(ctx context.Context, id string) (models.WebhookEndpoint, error)
}

func webhookEndpointView(e models.WebhookEndpoint) oapi.WebhookEndpoint {
	out := oapi.WebhookEndpoint{Id: e.ID, Url: e.URL, Events: e.Events, Description: e.Description, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, FailingSince: valueOf(e.FailingSince), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.PreviousSecretUntil != nil && time.Now().Before(*e.PreviousSecretUntil) {
		out.PreviousSecretUntil = *e.PreviousSecretUntil
	}
	return out
}

func newWebhookEndpointView(e models.WebhookEndpoint, secret string) oapi.NewWebhookEndpoint {
	v := webhookEndpointView(e)
	return oapi.NewWebhookEndpoint{Id: v.Id, Url: v.Url, Events: v.Events, Description: v.Description, Enabled: v.Enabled,
		DisabledReason: v.DisabledReason, FailingSince: v.FailingSince, PreviousSecretUntil: v.PreviousSecretUntil,
		CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, Secret: secret}
}

func webhookDeliveryView(d models.WebhookDelivery) oapi.WebhookDelivery {
	out := oapi.WebhookDelivery{Id: d.ID, Type: d.Type, ObjectId: d.ObjectID, EventId: d.EventID, Status: oapi.WebhookDeliveryStatus(d.Status),
		Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastResponse: d.LastResponse, LastError: d.LastError,
		DeliveredAt: valueOf(d.DeliveredAt), CreatedAt: d.CreatedAt}
	if d.Status == models.WebhookPending {
		out.NextAttemptAt = d.NextAttemptAt
	}
	return out
}

// validWebhookURL: an absolute https URL (http too when the product itself
// runs on http, in dev), no credentials in it, and not an address literal
// that delivery would refuse anyway.
func (s *Server) validWebhookURL(raw string) error {
	bad := func(msg string) error {
		return validationProblem([]FieldError{{Field: "url", Message: msg}})
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || hasControl(raw, false) {
		return bad("must be an absolute URL such as https://example.com/webhooks")
	}
	devHTTP := strings.HasPrefix(s.cfg.PublicBaseURL, "http://")
	if u.Scheme != "https" && !(u.Scheme == "http" && devHTTP) {
		return bad("must be https")
	}
	if u.User != nil {
		return bad("must not carry credentials; verify the signature instead")
	}
	if u.Fragment != "" {
		return bad("must not have a fragment")
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && webhooks.Forbidden(a) && !s.cfg.Webhooks.AllowPrivateTargets {
		return bad("must not be a loopback, private, link-local or metadata address")
	}
	return nil
}

// validWebhookEvents: catalogue types, "prefix.*" matching at least one, or "*".
func validWebhookEvents(events []string) ([]string, error) {
	catalogue := models.WebhookCatalogue()
	out := make([]string, 0, len(events))
	for _, e := range events {
		e = strings.TrimSpace(e)
		ok := e == "*" || slices.Contains(catalogue, e)
		if prefix, wild := strings.CutSuffix(e, ".*"); wild && prefix != "" {
			ok = slices.ContainsFunc(catalogue, func(t string) bool { return strings.HasPrefix(t, prefix+".") })
		}
		if !ok {
			return nil, validationProblem([]FieldError{{Field: "events", Message: fmt.Sprintf("%q is not in the event catalogue (see x-webhooks in /openapi.json; prefix.* and * are allowed)", e)}})
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *Server) needKeys() error {
	if s.secrets == nil {
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "webhooks need ONBOARDING_SECRET_KEY on the server: signing secrets are kept sealed under it")
	}
	return nil
}

// ownWebhookEndpoint loads one of the caller's endpoints; another partner's is a 404.
func (s *Server) ownWebhookEndpoint(ctx context.Context, id string) (models.WebhookEndpoint, error) {
	e, err := s.store.WebhookEndpoint(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && e.PartnerID != currentPartner(ctx).ID) {
		return e, notFoundProblem("webhook endpoint")
	}
	return e, err
}

func (s *Server) CreateWebhookEndpoint(ctx context.Context, request oapi.CreateWebhookEndpointRequestObject) (oapi.CreateWebhookEndpointResponseObject, error) {
	req := request.Body
	if err := s.needKeys(); err != nil {
		return nil, err
	}
	if err := s.validWebhookURL(req.Url); err != nil {
		return nil, err
	}
	events, err := validWebhookEvents(req.Events)
	if err != nil {
		return nil, err
	}
	if hasControl(req.Description, false) {
		return nil, validationProblem([]FieldError{{Field: "description", Message: "must be plain text"}})
	}
	e := models.WebhookEndpoint{ID: "whe_" + newID(), PartnerID: currentPartner(ctx).ID, URL: req.Url, Description: req.Description,
		Events: events, Enabled: true}
	plain := webhooks.NewSecret()
	if e.SecretSealed, err = webhooks.SealSecret(s.secrets, e.ID, plain); err != nil {
		return nil, err
	}
	if err := s.store.CreateWebhookEndpoint(ctx, &e); err != nil {
		return nil, err
	}
	return oapi.CreateWebhookEndpoint201JSONResponse{Body: newWebhookEndpointView(e, plain),
		Headers: oapi.CreateWebhookEndpoint201ResponseHeaders{Location: "/v1/webhook-endpoints/" + e.ID}}, nil
}

func (s *Server) ListWebhookEndpoints(ctx context.Context, request oapi.ListWebhookEndpointsRequestObject) (oapi.ListWebhookEndpointsResponseObject, error) {
	pg, err := pageOf(request.Params.Limit, request.Params.Cursor)
	if err != nil {
		return nil, err
	}
	items, next, err := s.store.ListWebhookEndpoints(ctx, currentPartner(ctx).ID, pg)
	if err != nil {
		return nil, err
	}
	return oapi.ListWebhookEndpoints200JSONResponse{Items: views(items, webhookEndpointView), NextCursor: next}, nil
}

func (s *Server) GetWebhookEndpoint(ctx context.Context, request oapi.GetWebhookEndpointRequestObject) (oapi.GetWebhookEndpointResponseObject, error) {
	e, err := s.ownWebhookEndpoint(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetWebhookEndpoint200JSONResponse(webhookEndpointView(e)), nil
}

func (s *Server) UpdateWebhookEndpoint(ctx context.Context, request oapi.UpdateWebhookEndpointRequestObject) (oapi.UpdateWebhookEndpointResponseObject, error) {
	e, err := s.ownWebhookEndpoint(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	req := request.Body
	if req.Url != "" {
		if err := s.validWebhookURL(req.Url); err != nil {
			return nil, err
		}
		e.URL = req.Url
	}
	if len(req.Events) > 0 {
		if e.Events, err = validWebhookEvents(req.Events); err != nil {
			return nil, err
		}
	}
	if req.Description != "" {
		if hasControl(req.Description, false) {
			return nil, validationProblem([]FieldError{{Field: "description", Message: "must be plain text"}})
		}
		e.Description = req.Description
	}
	if req.Enabled != nil && *req.Enabled != e.Enabled {
		e.Enabled = *req.Enabled
		// Re-enabling starts the failure clock afresh; the paused deliveries go out.
		e.DisabledReason, e.FailingSince, e.FailedAttempts = "", nil, 0
		if !e.Enabled {
			e.DisabledReason = "disabled by the partner"
		}
	}
	if err := s.store.SaveWebhookEndpoint(ctx, &e); err != nil {
		return nil, err
	}
	return oapi.UpdateWebhookEndpoint200JSONResponse(webhookEndpointView(e)), nil
}

func (s *Server) DeleteWebhookEndpoint(ctx context.Context, request oapi.DeleteWebhookEndpointRequestObject) (oapi.DeleteWebhookEndpointResponseObject, error) {
	if _, err := s.ownWebhookEndpoint(ctx, request.Id); err != nil {
		return nil, err
	}
	if err := s.store.DeleteWebhookEndpoint(ctx, request.Id); err != nil {
		return nil, err
	}
	return oapi.DeleteWebhookEndpoint204Response{}, nil
}

// RotateWebhookSecret: a new secret signs from now on; the current one keeps
// signing beside it for 24 hours.
func (s *Server) RotateWebhookSecret(ctx context.Context, request oapi.RotateWebhookSecretRequestObject) (oapi.RotateWebhookSecretResponseObject, error) {
	if err := s.needKeys(); err != nil {
		return nil, err
	}
	e, err := s.ownWebhookEndpoint(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	plain := webhooks.NewSecret()
	sealed, err := webhooks.SealSecret(s.secrets, e.ID, plain)
	if err != nil {
		return nil, err
	}
	until := time.Now().UTC().Add(webhooks.PreviousSecretGrace)
	e.PreviousSecretSealed, e.PreviousSecretUntil, e.SecretSealed = e.SecretSealed, &until, sealed
	if err := s.store.SaveWebhookEndpoint(ctx, &e); err != nil {
		return nil, err
	}
	return oapi.RotateWebhookSecret200JSONResponse(newWebhookEndpointView(e, plain)), nil
}

func (s *Server) TestWebhookEndpoint(ctx context.Context, request oapi.TestWebhookEndpointRequestObject) (oapi.TestWebhookEndpointResponseObject, error) {
	if _, err := s.ownWebhookEndpoint(ctx, request.Id); err != nil {
		return nil, err
	}
	d, err := s.store.QueueWebhookPing(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	return oapi.TestWebhookEndpoint202JSONResponse(webhookDeliveryView(d)), nil
}

func (s *Server) ListWebhookDeliveries(ctx context.Context, request oapi.ListWebhookDeliveriesRequestObject) (oapi.ListWebhookDeliveriesResponseObject, error) {
	if _, err := s.ownWebhookEndpoint(ctx, request.Id); err != nil {
		return nil, err
	}
	p := request.Params
	pg, err := pageOf(p.Limit, p.Cursor)
	if err != nil {
		return nil, err
	}
	status, err := statusFilter(p.Status, models.WebhookPending, models.WebhookSucceeded, models.WebhookFailed)
	if err != nil {
		return nil, err
	}
	items, next, err := s.store.ListWebhookDeliveries(ctx, request.Id, store.WebhookDeliveryFilter{Status: status}, pg)
	if err != nil {
		return nil, err
	}
	return oapi.ListWebhookDeliveries200JSONResponse{Items: views(items, webhookDeliveryView), NextCursor: next}, nil
}

func (s *Server) RedeliverWebhook(ctx context.Context, request oapi.RedeliverWebhookRequestObject) (oapi.RedeliverWebhookResponseObject, error) {
	if _, err := s.ownWebhookEndpoint(ctx, request.Id); err != nil {
		return nil, err
	}
	if _, err := s.store.WebhookDelivery(ctx, request.Id, request.DeliveryId); errors.Is(err, store.ErrNotFound) {
		return nil, notFoundProblem("webhook delivery")
	} else if err != nil {
		return nil, err
	}
	n, err := s.store.Redeliver(ctx, request.Id, request.DeliveryId, nil)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, problem(http.StatusConflict, CodeConflict, "this delivery is being sent right now")
	}
	d, err := s.store.WebhookDelivery(ctx, request.Id, request.DeliveryId)
	if err != nil {
		return nil, err
	}
	return oapi.RedeliverWebhook202JSONResponse(webhookDeliveryView(d)), nil
}

func (s *Server) ReplayWebhooks(ctx context.Context, request oapi.ReplayWebhooksRequestObject) (oapi.ReplayWebhooksResponseObject, error) {
	if _, err := s.ownWebhookEndpoint(ctx, request.Id); err != nil {
		return nil, err
	}
	since, err := time.Parse(time.RFC3339, request.Params.Since)
	if err != nil {
		return nil, validationProblem([]FieldError{{Field: "since", Message: "must be an RFC 3339 time such as 2026-11-26T10:00:00Z"}})
	}
	n, err := s.store.Redeliver(ctx, request.Id, "", &since)
	if err != nil {
		return nil, err
	}
	return oapi.ReplayWebhooks202JSONResponse{Queued: n}, nil
}
