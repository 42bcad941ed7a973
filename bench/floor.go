package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/workflows"
)

// The engine floor: workflows of the same shape as an invitation (the same
// history: records as local activities, the e-mail and the notices as
// activities, one timer, one update, one version marker, one SideEffect, one
// status upsert) whose activities do nothing. What they cost is what Temporal
// itself costs on this machine for our shape; the product's throughput is
// compared against it.

const floorTaskQueue = "bench-floor"

// FloorActivities do nothing, with the signatures of real ones.
type FloorActivities struct{}

// Noop stands for any product activity.
func (FloorActivities) Noop(context.Context, string) error { return nil }

func floorCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
}

func floorLocalCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
}

// FloorInvitation mirrors InvitationWorkflow's lean shape
// (docs/decisions/relationship-in-the-onboarding.md): its version marker, the
// "created" record, the e-mail beside the wait's expiry timer, the accept
// update recorded before it answers, the ids in one SideEffect, the
// relationship step as one local activity, the status upsert, both notices
// in one activity.
func FloorInvitation(ctx workflow.Context, id string) error {
	var a FloorActivities
	workflow.GetVersion(ctx, "floor-shape", workflow.DefaultVersion, 1)
	accepted := false
	if err := workflow.SetUpdateHandler(ctx, "accept", func(ctx workflow.Context) (string, error) {
		accepted = true
		return "accepted", workflow.ExecuteLocalActivity(floorLocalCtx(ctx), a.Noop, "accepted").Get(ctx, nil)
	}); err != nil {
		return err
	}
	if err := workflow.ExecuteLocalActivity(floorLocalCtx(ctx), a.Noop, "created").Get(ctx, nil); err != nil {
		return err
	}
	email := workflow.ExecuteActivity(floorCtx(ctx), a.Noop, "email")
	if _, err := workflow.AwaitWithTimeout(ctx, 30*24*time.Hour, func() bool { return accepted }); err != nil {
		return err
	}
	if err := email.Get(ctx, nil); err != nil {
		return err
	}
	var ids []string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return []string{id + "-relationship", id + "-customer"} }).Get(&ids); err != nil {
		return err
	}
	if err := workflow.ExecuteLocalActivity(floorLocalCtx(ctx), a.Noop, "relationship").Get(ctx, nil); err != nil {
		return err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.SearchStatus.ValueSet("completed")); err != nil {
		return err
	}
	return workflow.ExecuteActivity(floorCtx(ctx), a.Noop, "notices").Get(ctx, nil)
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
		return workflow.ExecuteLocalActivity(floorLocalCtx(ctx), FloorActivities{}.Noop, step)
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
