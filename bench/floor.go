package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/workflow"
)

// The engine floor: workflows of the same shape as an invitation (same
// number of activities, one update, one child workflow of the same size)
// whose activities do nothing. What they cost is what Temporal itself costs
// on this machine; the product's throughput is compared against it.

const floorTaskQueue = "bench-floor"

// FloorActivities do nothing, with the signatures of real ones.
type FloorActivities struct{}

// Noop stands for any product activity.
func (FloorActivities) Noop(context.Context, string) error { return nil }

func floorCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
}

// FloorInvitation mirrors InvitationWorkflow: record, e-mail, record, wait for
// the accept update, record, child relationship, record.
func FloorInvitation(ctx workflow.Context, id string) error {
	var a FloorActivities
	accepted := false
	if err := workflow.SetUpdateHandler(ctx, "accept", func(ctx workflow.Context) (string, error) {
		accepted = true
		return "accepted", nil
	}); err != nil {
		return err
	}
	actx := floorCtx(ctx)
	for _, step := range []string{"created", "email", "sent"} {
		if err := workflow.ExecuteActivity(actx, a.Noop, step).Get(ctx, nil); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return accepted }); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(actx, a.Noop, "accepted").Get(ctx, nil); err != nil {
		return err
	}
	child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "floor-relationship:" + id})
	if err := workflow.ExecuteChildWorkflow(child, FloorRelationship, id).Get(ctx, nil); err != nil {
		return err
	}
	return workflow.ExecuteActivity(actx, a.Noop, "completed").Get(ctx, nil)
}

// FloorRelationship mirrors RelationshipWorkflow without delegated admin:
// customer, relationship, lists, two notices.
func FloorRelationship(ctx workflow.Context, id string) error {
	var a FloorActivities
	actx := floorCtx(ctx)
	for _, step := range []string{"customer", "relationship", "lists", "notify-reseller", "notify-provider"} {
		if err := workflow.ExecuteActivity(actx, a.Noop, step).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}
