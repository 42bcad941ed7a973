package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// Partner Center posts its events to POST /webhooks/partner-center
// (api/openapi.yaml, README "Partner Center webhooks"). A delivery is
// verified (microsoft/partnercenter: signature, certificate, freshness,
// replay) before its body is read; then the event's EventName and
// ResourceUri say which workflow waits on it, and that workflow is
// signalled. Webhooks only wake workflows early: a workflow that never gets
// one still finds the change by polling.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks

// partnerCenterStore is what the receiver keeps and reads: the record of
// deliveries already accepted, so that a replay is refused, and the
// invitations waiting for a customer tenant.
type partnerCenterStore interface {
	partnercenter.Deliveries
	InvitationsWaitingForTenant(ctx context.Context, tenantID string) ([]models.Invitation, error)
}

// Signaler is the part of the Temporal client the receiver uses.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// GDAPWorkflowFinder finds the workflow waiting on a GDAP relationship by
// its Graph relationship id ("" when none does).
type GDAPWorkflowFinder interface {
	GDAPWorkflowFor(ctx context.Context, graphRelationshipID string) (string, error)
}

// GDAPWorkflowFinderFunc is a function as a GDAPWorkflowFinder.
type GDAPWorkflowFinderFunc func(ctx context.Context, graphRelationshipID string) (string, error)

// GDAPWorkflowFor calls f.
func (f GDAPWorkflowFinderFunc) GDAPWorkflowFor(ctx context.Context, id string) (string, error) {
	return f(ctx, id)
}

// GDAPWorkflowsByRow finds the GDAP workflow through the row that carries
// the Graph relationship id: lookup loads the row's id (store.ErrNotFound
// when no row has it), workflowID turns that id into the waiting workflow's
// ID. With the store's DelegatedAdminByGraphID and the registry's rule it
// is the one line app/ wires in.
func GDAPWorkflowsByRow[R any](lookup func(ctx context.Context, graphRelationshipID string) (R, error), rowID func(R) string, workflowID func(string) string) GDAPWorkflowFinder {
	return GDAPWorkflowFinderFunc(func(ctx context.Context, id string) (string, error) {
		row, err := lookup(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return workflowID(rowID(row)), nil
	})
}

// PartnerCenterWebhooks are the receiver's dependencies.
type PartnerCenterWebhooks struct {
	// Verifier authenticates deliveries; nil builds one from the config
	// (PARTNER_CENTER_WEBHOOK_*) over the store's replay record.
	Verifier *partnercenter.Verifier
	// Signals sends the signals; nil acknowledges every event without waking anyone.
	Signals Signaler
	// GDAPWorkflows finds GDAP workflows; nil: no GDAP workflow is found
	// (none is started by Graph relationship on this build).
	GDAPWorkflows GDAPWorkflowFinder
}

// Answers of the receiver (PartnerCenterAck.action).
const (
	pcSignalled      = "signalled"
	pcValidation     = "validation"
	pcNothingWaiting = "nothing_waiting"
	pcIgnored        = "ignored"
)

func (s *Server) partnerCenterWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	d, err := s.verifiedPartnerCenterDelivery(c)
	if err != nil {
		return err
	}
	ev, target := d.Event, partnercenter.TargetOf(d.Event)
	log := s.logger.With("event", ev.EventName, "resource_uri", ev.ResourceURI, "changed_at", ev.ResourceChangeUtcDate)
	ack := func(action string) error {
		return c.JSON(http.StatusOK, map[string]string{"event": ev.EventName, "action": action})
	}
	switch target.Kind {
	case partnercenter.TargetTest:
		log.InfoContext(ctx, "Partner Center validation event received")
		return ack(pcValidation)
	case partnercenter.TargetNone:
		log.InfoContext(ctx, "Partner Center event not acted on")
		return ack(pcIgnored)
	}
	w, err := s.workflowsWaitingOn(ctx, target)
	if err != nil {
		return s.partnerCenterNotActedOn(c, d, err)
	}
	action := pcNothingWaiting
	for _, id := range w.ids {
		a, err := s.signalPartnerCenterChange(ctx, log, id, w.signal, w.arg)
		if err != nil {
			return s.partnerCenterNotActedOn(c, d, err)
		}
		if a == pcSignalled {
			action = a
		}
	}
	if action == pcNothingWaiting {
		log.InfoContext(ctx, "Partner Center event: no workflow waits on it", "target", target.Kind, "id", target.ID)
	}
	return ack(action)
}

// waitingWorkflows are the workflows an event wakes, and how.
type waitingWorkflows struct {
	ids    []string
	signal string
	arg    any
}

// workflowsWaitingOn finds the workflows waiting on what an event is about:
// the delegated admin lifecycle of a GDAP relationship (by its Graph id),
// or the invitations waiting for the customer tenant's acceptance at
// Microsoft. Without a Signaler nobody is woken.
func (s *Server) workflowsWaitingOn(ctx context.Context, target partnercenter.Target) (waitingWorkflows, error) {
	if s.partnerCenter.Signals == nil {
		return waitingWorkflows{}, nil
	}
	switch target.Kind {
	case partnercenter.TargetGDAPRelationship:
		if s.partnerCenter.GDAPWorkflows == nil {
			return waitingWorkflows{}, nil
		}
		id, err := s.partnerCenter.GDAPWorkflows.GDAPWorkflowFor(ctx, target.ID)
		if id == "" || err != nil {
			return waitingWorkflows{}, err
		}
		return waitingWorkflows{ids: []string{id}, signal: workflows.SignalGDAPChanged}, nil
	case partnercenter.TargetResellerRelationship:
		invs, err := s.store.InvitationsWaitingForTenant(ctx, target.ID)
		w := waitingWorkflows{signal: workflows.SignalResellerRelationshipAccepted, arg: strings.ToLower(target.ID)}
		for _, inv := range invs {
			w.ids = append(w.ids, inv.WorkflowID)
		}
		return w, err
	}
	return waitingWorkflows{}, nil
}

// verifiedPartnerCenterDelivery reads the body (64 KiB at most) and checks
// its signature and freshness; what it refuses is a problem to answer.
func (s *Server) verifiedPartnerCenterDelivery(c echo.Context) (partnercenter.Delivery, error) {
	ctx := c.Request().Context()
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return partnercenter.Delivery{}, problem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "request bodies are limited to 64 KiB")
		}
		return partnercenter.Delivery{}, problem(http.StatusUnauthorized, CodeUnauthorized, "the delivery could not be read")
	}
	d, err := s.partnerCenter.Verifier.Verify(ctx, c.Request().Header, body)
	var refused *partnercenter.VerifyError
	switch {
	case errors.As(err, &refused):
		s.logger.WarnContext(ctx, "Partner Center delivery refused", "reason", refused.Reason, "detail", refused.Detail)
		return d, problem(http.StatusUnauthorized, CodeUnauthorized, "the delivery is not a fresh, signed Partner Center event")
	case err != nil:
		s.logger.ErrorContext(ctx, "Partner Center delivery not checked", "error", err)
		return d, problem(http.StatusServiceUnavailable, CodeUnavailable, "the delivery could not be checked now; Partner Center retries it")
	}
	return d, nil
}

// signalPartnerCenterChange wakes the workflow waiting on the change; a
// workflow that has ended waits on nothing.
func (s *Server) signalPartnerCenterChange(ctx context.Context, log *slog.Logger, workflowID, signal string, arg any) (string, error) {
	err := s.partnerCenter.Signals.SignalWorkflow(ctx, workflowID, "", signal, arg)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		log.InfoContext(ctx, "Partner Center event: the workflow has ended", "workflow_id", workflowID)
		return pcNothingWaiting, nil
	case err != nil:
		return "", err
	}
	log.InfoContext(ctx, "Partner Center event: workflow signalled", "workflow_id", workflowID, "signal", signal)
	return pcSignalled, nil
}

// partnerCenterNotActedOn answers 503 to a verified delivery we could not
// act on, and forgets it, so that Partner Center's retry is accepted.
func (s *Server) partnerCenterNotActedOn(c echo.Context, d partnercenter.Delivery, cause error) error {
	ctx := c.Request().Context()
	s.logger.ErrorContext(ctx, "Partner Center event not acted on; Partner Center retries it", "event", d.Event.EventName, "error", cause)
	if err := s.partnerCenter.Verifier.Forget(context.WithoutCancel(ctx), d); err != nil {
		s.logger.ErrorContext(ctx, "Partner Center delivery not forgotten: its retry will be refused as a replay (the workflow's polling still finds the change)", "error", err)
	}
	return problem(http.StatusServiceUnavailable, CodeUnavailable, "the event could not be acted on now; Partner Center retries it")
}
