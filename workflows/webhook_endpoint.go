package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
)

// KindWebhookEndpoint is the OnboardingKind of the workflow that shows a
// failing webhook endpoint in the Temporal UI.
const KindWebhookEndpoint = "webhook_endpoint"

// WebhookEndpointWorkflowID is the one ID per endpoint, so that a second
// start while one runs is a signal to it.
func WebhookEndpointWorkflowID(endpointID string) string { return "webhook-endpoint:" + endpointID }

// SignalWebhookEndpointChanged tells the workflow the endpoint's delivery
// state changed (an attempt was recorded, the partner changed the endpoint).
const SignalWebhookEndpointChanged = "endpoint_changed"

// Endpoint states as the OnboardingStatus search attribute shows them.
const (
	WebhookEndpointFailing   = "failing"
	WebhookEndpointRecovered = "recovered"
	WebhookEndpointDisabled  = "disabled"
	WebhookEndpointDeleted   = "deleted"
)

// DefaultWebhookEndpointPoll is how often the workflow reads the endpoint's
// state when nothing signals it: the dispatcher signals every attempt, so
// this only catches what happened without a signal (a lost one, a deletion).
const DefaultWebhookEndpointPoll = 15 * time.Minute

// webhookEndpointReadsPerRun bounds one run's history (a read and a timer
// each, about ten events): the workflow continues as new after this many.
const webhookEndpointReadsPerRun = 200

// WebhookEndpointInput names the endpoint to watch.
type WebhookEndpointInput struct {
	EndpointID string
	Poll       time.Duration // DefaultWebhookEndpointPoll when zero
}

// WebhookEndpointWorkflow mirrors a failing endpoint's delivery state — kept
// in the database, where the outbox is — into the Temporal UI: its current
// details say since when it fails, how many attempts failed, what it last
// answered and when the next attempt is due. It completes when the endpoint
// recovers, is disabled or is deleted. It never delivers anything: a lost
// signal or a stopped workflow changes what the UI shows, not what is sent.
func WebhookEndpointWorkflow(ctx workflow.Context, in WebhookEndpointInput) (activities.WebhookEndpointHealth, error) {
	w := &endpointWatch{in: in}
	if err := w.setup(ctx); err != nil {
		return w.health, err
	}
	return w.run(ctx)
}

type endpointWatch struct {
	in      WebhookEndpointInput
	health  activities.WebhookEndpointHealth
	changed workflow.ReceiveChannel
}

func (w *endpointWatch) setup(ctx workflow.Context) error {
	if w.in.Poll <= 0 {
		w.in.Poll = DefaultWebhookEndpointPoll
	}
	w.health.EndpointID = w.in.EndpointID
	w.changed = workflow.GetSignalChannel(ctx, SignalWebhookEndpointChanged)
	return workflow.SetQueryHandler(ctx, QueryStatus, func() (activities.WebhookEndpointHealth, error) { return w.health, nil })
}

func (w *endpointWatch) run(ctx workflow.Context) (activities.WebhookEndpointHealth, error) {
	actx := withActivityOptions(ctx)
	for reads := 1; ; reads++ {
		// Decoded into a fresh value: fields left out of the answer (omitempty) must not keep the last read's.
		var h activities.WebhookEndpointHealth
		if err := workflow.ExecuteActivity(actx, a.WebhookEndpointHealth, w.in.EndpointID).Get(ctx, &h); err != nil {
			return w.health, err
		}
		w.health = h
		state := endpointState(w.health)
		workflow.SetCurrentDetails(ctx, describeEndpoint(w.health, state))
		if err := workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(state)); err != nil {
			return w.health, err
		}
		if state != WebhookEndpointFailing {
			return w.health, nil
		}
		if reads >= webhookEndpointReadsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// The next run reads the state first, so signals left unread here lose nothing.
			return w.health, workflow.NewContinueAsNewError(ctx, WebhookEndpointWorkflow, w.in)
		}
		w.wait(ctx)
	}
}

// wait returns on a signal or after the poll interval; signals that arrived
// together are taken as one.
func (w *endpointWatch) wait(ctx workflow.Context) {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(w.changed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddFuture(workflow.NewTimer(timerCtx, w.in.Poll), func(workflow.Future) {})
	sel.Select(ctx)
	for w.changed.ReceiveAsync(nil) {
		// One read answers all the signals that came together.
	}
}

func endpointState(h activities.WebhookEndpointHealth) string {
	switch {
	case h.Deleted:
		return WebhookEndpointDeleted
	case !h.Enabled:
		return WebhookEndpointDisabled
	case h.FailingSince != nil:
		return WebhookEndpointFailing
	}
	return WebhookEndpointRecovered
}

// describeEndpoint is the current details text (Markdown, as the UI renders
// it). Built with Sprintf: workflowcheck refuses writes to an io.Writer.
func describeEndpoint(h activities.WebhookEndpointHealth, state string) string {
	var parts []string
	switch state {
	case WebhookEndpointDeleted:
		return fmt.Sprintf("**Deleted**: webhook endpoint %s no longer exists.", h.EndpointID)
	case WebhookEndpointDisabled:
		parts = append(parts, fmt.Sprintf("**Disabled**: %s.", nonEmpty(h.DisabledReason, "disabled")))
	case WebhookEndpointRecovered:
		parts = append(parts, "**Recovered**: the last delivery succeeded.")
	default:
		parts = append(parts, fmt.Sprintf("**Failing** since %s: %d failed attempts.", h.FailingSince.UTC().Format(time.RFC3339), h.FailedAttempts))
	}
	if h.LastFailureAt != nil && state != WebhookEndpointRecovered {
		answer := "no answer"
		if h.LastStatusCode != 0 {
			answer = fmt.Sprintf("answered %d", h.LastStatusCode)
		}
		last := fmt.Sprintf("Last failure %s: %s (%s)", h.LastFailureAt.UTC().Format(time.RFC3339), answer, h.LastError)
		if h.LastResponse != "" {
			last += fmt.Sprintf("; the answer began %q", h.LastResponse)
		}
		parts = append(parts, last+".")
	}
	switch {
	case h.Pending > 0 && h.NextAttempt != nil && state == WebhookEndpointFailing:
		parts = append(parts, fmt.Sprintf("Next attempt %s; %d deliveries pending.", h.NextAttempt.UTC().Format(time.RFC3339), h.Pending))
	case h.Pending > 0:
		parts = append(parts, fmt.Sprintf("%d deliveries pending.", h.Pending))
	}
	parts = append(parts, fmt.Sprintf("Endpoint %s (%s) of partner %s.", h.EndpointID, h.Target, h.PartnerID))
	return strings.Join(parts, "\n\n")
}

// WebhookEndpointSearchAttributes are the search attributes the workflow starts with.
func WebhookEndpointSearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(SearchKind.ValueSet(KindWebhookEndpoint), SearchStatus.ValueSet(WebhookEndpointFailing))
}
