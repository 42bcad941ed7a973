package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
)

// onboarding is the part every onboarding workflow shares, embedded in its
// struct: the tracker of its status and timeline, its logger and its mailer.
// A workflow is a struct with setup() (state, status query, update handlers,
// before anything blocks) and run() (the work), ending through finish.
type onboarding struct {
	t      tracker
	logger log.Logger
	mail   *mailer
}

// mailSettled waits for the e-mails still on their way (async sending).
func (o *onboarding) mailSettled(ctx workflow.Context) error {
	if o.mail != nil && o.mail.async {
		return o.mail.finish(ctx)
	}
	return nil
}

// finish lets running update handlers complete before the workflow closes.
func (o *onboarding) finish(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// failed records that the onboarding failed for cause (status: the kind's
// failed status) and returns cause, or the error of the record.
func (o *onboarding) failed(ctx workflow.Context, status string, cause error, closeLinks bool, details map[string]string) error {
	o.logger.Error("Onboarding failed", "kind", o.t.kind, "id", o.t.subjectID, "error", cause)
	o.t.setStep(ctx, "Failed: "+rootMessage(cause))
	if details == nil {
		details = map[string]string{}
	}
	details["reason"] = rootMessage(cause)
	if err := o.t.record(ctx, activities.Progress{Status: status, Event: "failed", Details: details, CloseLinks: closeLinks}); err != nil {
		return err
	}
	return cause
}
