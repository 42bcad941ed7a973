package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/workflows"
)

var (
	failingDetails = regexp.MustCompile(`\*\*Failing\*\* since \S+: [2-9]\d* failed attempts`)
	lastAnswer     = regexp.MustCompile(`answered 503 .*"down for maintenance"`)
)

// TestFailingEndpointShowsInTemporal: an endpoint that starts failing gets a
// running webhook-endpoint:<id> workflow whose current details (what the
// Temporal UI shows) name the failure; when a retry succeeds the workflow
// completes; failing again starts a new run under the same ID.
func TestFailingEndpointShowsInTemporal(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) {
		c.Webhooks.AllowPrivateTargets = true // the receiver listens on 127.0.0.1
		c.Webhooks.RetrySchedule = []time.Duration{300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond,
			300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	})
	var up atomic.Bool
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if up.Load() {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("down for maintenance"))
	}))
	t.Cleanup(rcv.Close)
	reseller := p.createPartner("Fabrikam Reseller", "reseller", true)
	ep := p.must(201, p.call("POST", "/v1/webhook-endpoints", reseller.key, map[string]any{"url": rcv.URL + "/hooks?token=kept-out", "events": []string{"*"}}))
	epID := ep.str("id")
	wfID := workflows.WebhookEndpointWorkflowID(epID)
	ctx := context.Background()
	tc := p.app.Temporal

	running := func() (string, bool) {
		d, err := tc.DescribeWorkflowExecution(ctx, wfID, "")
		if err != nil {
			return "", false
		}
		info := d.GetWorkflowExecutionInfo()
		return info.GetExecution().GetRunId(), info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}
	details := func() string {
		v, err := tc.QueryWorkflow(ctx, wfID, "", "__temporal_workflow_metadata")
		if err != nil {
			return ""
		}
		var md sdkpb.WorkflowMetadata
		if v.Get(&md) != nil {
			return ""
		}
		return md.GetCurrentDetails()
	}

	p.must(202, p.call("POST", "/v1/webhook-endpoints/"+epID+"/test", reseller.key, nil))
	p.eventually("a running view naming the failure", func() bool {
		_, ok := running()
		d := details()
		return ok && failingDetails.MatchString(d) && lastAnswer.MatchString(d)
	})
	d := details()
	require.Contains(t, d, "Next attempt")
	require.Contains(t, d, rcv.URL+"/hooks)", "the target, without its query")
	require.NotContains(t, d, "kept-out")
	firstRun, _ := running()

	up.Store(true)
	p.eventually("the view completed by the recovery", func() bool { _, ok := running(); return !ok })
	var h activities.WebhookEndpointHealth
	require.NoError(t, tc.GetWorkflow(ctx, wfID, firstRun).Get(ctx, &h))
	require.Nil(t, h.FailingSince)
	require.True(t, h.Enabled)
	desc, err := tc.DescribeWorkflowExecution(ctx, wfID, firstRun)
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())

	// Failing again: a new run under the same ID.
	up.Store(false)
	p.must(202, p.call("POST", "/v1/webhook-endpoints/"+epID+"/test", reseller.key, nil))
	p.eventually("a second view", func() bool { run, ok := running(); return ok && run != firstRun })
	up.Store(true)
	p.eventually("the second view completed", func() bool { _, ok := running(); return !ok })
	saveHistory(t, tc, wfID, "webhook-endpoint-recovered-v1.json")
}
