// Package worker hosts the onboarding workflows and activities on a task queue.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/workflows"
)

// New registers every workflow and the activities on the task queue. On
// Stop the worker stops polling at once and gives in-flight activities up to
// stopTimeout to finish.
func New(c client.Client, taskQueue string, acts *activities.Activities, stopTimeout time.Duration) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		WorkerStopTimeout: stopTimeout,
		// A database refusal that retrying cannot fix ends the activity.
		Interceptors: []interceptor.WorkerInterceptor{&activities.PermanentErrors{}},
	})
	Register(w, acts)
	return w
}

// Register adds the product's workflows and activities to any registry
// (a worker, or a replayer in tests).
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.PartnershipWorkflow)
	r.RegisterWorkflow(workflows.InvitationWorkflow)
	r.RegisterWorkflow(workflows.RelationshipWorkflow)
	r.RegisterWorkflow(workflows.ExtensionWorkflow)
	r.RegisterWorkflow(workflows.EnrollmentWorkflow)
	r.RegisterWorkflow(workflows.TenantRequestWorkflow)
	r.RegisterWorkflow(workflows.DelegatedAdminWorkflow)
	r.RegisterWorkflow(workflows.WebhookEndpointWorkflow)
	r.RegisterWorkflow(workflows.BulkJobWorkflow)
	r.RegisterWorkflow(workflows.GDAPWorkflow)
	if acts != nil {
		r.RegisterActivity(acts)
		if acts.GDAP != nil {
			r.RegisterActivity(acts.GDAP)
		}
	}
}
