package webhooks

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/workflows"
)

// Watch shows an endpoint's delivery trouble where operators look: the
// Temporal UI. The delivery state itself stays in the outbox.
type Watch interface {
	// Failing: an attempt failed or the endpoint was disabled; the view
	// starts, or reads the state again if it runs.
	Failing(ctx context.Context, endpointID string) error
	// Changed: the endpoint recovered or was changed; a running view reads
	// the state again (and ends when the endpoint is no longer failing).
	Changed(ctx context.Context, endpointID string) error
}

// TemporalWatch runs one webhook-endpoint workflow per failing endpoint.
type TemporalWatch struct {
	Client    client.Client
	TaskQueue string
	Poll      time.Duration // how often a view reads without a signal; the workflow's default when zero
}

// Failing signals the endpoint's workflow, starting it when none runs. The
// ID is the endpoint's, so a second failure is a signal, never a second
// workflow. Any earlier run may be followed by a new one: an endpoint that
// recovered (its view completed) and fails again gets a new view.
func (w TemporalWatch) Failing(ctx context.Context, endpointID string) error {
	id := workflows.WebhookEndpointWorkflowID(endpointID)
	_, err := w.Client.SignalWithStartWorkflow(ctx, id, workflows.SignalWebhookEndpointChanged, nil, client.StartWorkflowOptions{
		ID: id, TaskQueue: w.TaskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: workflows.WebhookEndpointSearchAttributes(), StaticSummary: "Webhook endpoint " + endpointID,
	}, workflows.WebhookEndpointWorkflow, workflows.WebhookEndpointInput{EndpointID: endpointID, Poll: w.Poll})
	return err
}

// Changed signals a running view; with none running there is nothing to show.
func (w TemporalWatch) Changed(ctx context.Context, endpointID string) error {
	err := w.Client.SignalWorkflow(ctx, workflows.WebhookEndpointWorkflowID(endpointID), "", workflows.SignalWebhookEndpointChanged, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}
