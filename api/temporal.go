package api

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// The API's calls into Temporal: decisions as updates
// (docs/decisions/updates-vs-signals.md) and the options of every start;
// starting itself, with its row and the sweeper, is in starts.go.

// update runs a workflow update and waits for its result.
func (s *Server) update(ctx context.Context, workflowID, name string, result any, args ...any) error {
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, Args: args, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, result)
}

// startOptions: deterministic ID, a failed run may be retried, a running or
// completed one never duplicated.
func startOptions(taskQueue, workflowID, summary string, attrs ...temporal.SearchAttributeUpdate) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Report a duplicate start as an error, not as the existing run, so
		// that only a real start counts as one.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
		StaticSummary:                            summary,
		// Where this process runs the worker too (the embedded default), the
		// first workflow task comes back in the start's answer instead of a
		// trip through matching (issue 17: its queue was the slowest
		// invitations' longest wait). Elsewhere it falls back by itself.
		EnableEagerStart: true,
	}
}
