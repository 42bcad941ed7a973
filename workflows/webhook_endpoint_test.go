package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
)

var endpointStart = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// fakeEndpoint is what the mocked WebhookEndpointHealth activity reads;
// the test changes it between signals. reads counts the reads.
type fakeEndpoint struct {
	mu     sync.Mutex
	health activities.WebhookEndpointHealth
	reads  int
}

func (f *fakeEndpoint) set(change func(h *activities.WebhookEndpointHealth)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.health)
}

func (f *fakeEndpoint) read(context.Context, string) (activities.WebhookEndpointHealth, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.health, nil
}

func failingEndpoint() *fakeEndpoint {
	since := endpointStart
	last := endpointStart.Add(5 * time.Second)
	next := endpointStart.Add(5 * time.Minute)
	return &fakeEndpoint{health: activities.WebhookEndpointHealth{EndpointID: "whe_1", PartnerID: "p1", Target: "https://psa.example/hooks",
		Enabled: true, FailingSince: &since, FailedAttempts: 2, LastStatusCode: 503, LastError: "answered 503", LastResponse: "upstream down",
		LastFailureAt: &last, Pending: 4, NextAttempt: &next}}
}

func newEndpointEnv(t *testing.T, f *fakeEndpoint) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(endpointStart)
	env.RegisterWorkflow(WebhookEndpointWorkflow)
	env.OnActivity(a.WebhookEndpointHealth, mock.Anything, "whe_1").Return(f.read)
	return env
}

// queryWorkflowMetadata is the SDK's built-in query the Temporal UI reads a
// workflow's current details with.
const queryWorkflowMetadata = "__temporal_workflow_metadata"

// currentDetails is what the Temporal UI shows as the workflow's current
// details: the answer of the built-in metadata query.
func currentDetails(t *testing.T, env *testsuite.TestWorkflowEnvironment) string {
	t.Helper()
	v, err := env.QueryWorkflow(queryWorkflowMetadata)
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	return md.GetCurrentDetails()
}

// TestEndpointViewShowsTheFailureUntilRecovery: the details name the
// failure (since when, attempts, last answer, next attempt); a signal makes
// the view read again at once; the endpoint's recovery completes it.
func TestEndpointViewShowsTheFailureUntilRecovery(t *testing.T) {
	f := failingEndpoint()
	env := newEndpointEnv(t, f)
	env.RegisterDelayedCallback(func() {
		d := currentDetails(t, env)
		require.Contains(t, d, "**Failing** since 2026-12-01T09:00:00Z: 2 failed attempts")
		require.Contains(t, d, "answered 503")
		require.Contains(t, d, `"upstream down"`)
		require.Contains(t, d, "Next attempt 2026-12-01T09:05:00Z; 4 deliveries pending")
		require.Contains(t, d, "https://psa.example/hooks")
		f.set(func(h *activities.WebhookEndpointHealth) { h.FailedAttempts = 3 })
		env.SignalWorkflow(SignalWebhookEndpointChanged, nil)
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		require.Contains(t, currentDetails(t, env), "3 failed attempts")
		f.set(func(h *activities.WebhookEndpointHealth) { h.FailingSince, h.FailedAttempts, h.Pending = nil, 0, 0 })
		env.SignalWorkflow(SignalWebhookEndpointChanged, nil)
	}, 2*time.Minute)
	env.ExecuteWorkflow(WebhookEndpointWorkflow, WebhookEndpointInput{EndpointID: "whe_1"})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var h activities.WebhookEndpointHealth
	require.NoError(t, env.GetWorkflowResult(&h))
	require.Nil(t, h.FailingSince)
	require.Equal(t, 3, f.reads, "one read at the start and one per batch of signals")
	require.Less(t, env.Now().Sub(endpointStart), DefaultWebhookEndpointPoll, "the recovery ended it, not a poll")
	require.Contains(t, currentDetails(t, env), "**Recovered**")
}

// TestEndpointViewEndsWhenTheEndpointIsDisabledOrDeleted: without any
// signal the view reads the state every poll interval, and ends on what it
// finds.
func TestEndpointViewEndsWhenTheEndpointIsDisabledOrDeleted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *activities.WebhookEndpointHealth)
		want   string
	}{
		{"disabled", func(h *activities.WebhookEndpointHealth) {
			h.Enabled, h.DisabledReason = false, "every delivery failed since 2026-11-28T09:00:00Z"
		}, "**Disabled**: every delivery failed since 2026-11-28T09:00:00Z."},
		{"deleted", func(h *activities.WebhookEndpointHealth) {
			*h = activities.WebhookEndpointHealth{EndpointID: "whe_1", Deleted: true}
		},
			"**Deleted**: webhook endpoint whe_1 no longer exists."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := failingEndpoint()
			env := newEndpointEnv(t, f)
			env.RegisterDelayedCallback(func() { f.set(tc.change) }, time.Hour)
			env.ExecuteWorkflow(WebhookEndpointWorkflow, WebhookEndpointInput{EndpointID: "whe_1", Poll: 30 * time.Minute})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, 3, f.reads, "read at 0, 30 and 60 minutes")
			require.Contains(t, currentDetails(t, env), tc.want)
		})
	}
}

// TestEndpointViewContinuesAsNew: an endpoint failing for days keeps one
// run's history bounded.
func TestEndpointViewContinuesAsNew(t *testing.T) {
	f := failingEndpoint()
	env := newEndpointEnv(t, f)
	in := WebhookEndpointInput{EndpointID: "whe_1", Poll: time.Minute}
	env.ExecuteWorkflow(WebhookEndpointWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "got %v", env.GetWorkflowError())
	require.Equal(t, webhookEndpointReadsPerRun, f.reads)
}
