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
	accepted, err := acceptUpdate(ctx)
	if err != nil {
		return err
	}
	actx := floorCtx(ctx)
	for _, step := range []string{"created", "email", "sent"} {
		if err := workflow.ExecuteActivity(actx, a.Noop, step).Get(ctx, nil); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return *accepted }); err != nil {
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

// The minimal-shape floor: the least an onboarding can be on Temporal —
// start, one activity, wait for the accept update, one activity, complete.
// FloorMinimalLocal does the same with local activities. The product's
// throughput over this is how much of the engine's capacity its shape uses.

// FloorMinimal is start → activity → accept update → activity → complete.
func FloorMinimal(ctx workflow.Context, id string) error {
	return floorMinimal(ctx, func(ctx workflow.Context, step string) workflow.Future {
		return workflow.ExecuteActivity(floorCtx(ctx), FloorActivities{}.Noop, step)
	})
}

// FloorMinimalLocal is FloorMinimal with local activities.
func FloorMinimalLocal(ctx workflow.Context, id string) error {
	return floorMinimal(ctx, func(ctx workflow.Context, step string) workflow.Future {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
		return workflow.ExecuteLocalActivity(lctx, FloorActivities{}.Noop, step)
	})
}

func floorMinimal(ctx workflow.Context, step func(workflow.Context, string) workflow.Future) error {
	accepted, err := acceptUpdate(ctx)
	if err != nil {
		return err
	}
	if err := step(ctx, "created").Get(ctx, nil); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return *accepted }); err != nil {
		return err
	}
	return step(ctx, "completed").Get(ctx, nil)
}

// acceptUpdate registers the "accept" update; the flag turns true when it comes.
func acceptUpdate(ctx workflow.Context) (*bool, error) {
	accepted := new(bool)
	err := workflow.SetUpdateHandler(ctx, "accept", func(ctx workflow.Context) (string, error) {
		*accepted = true
		return "accepted", nil
	})
	return accepted, err
}
