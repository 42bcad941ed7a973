package workflows

import (
	"errors"

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
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return o.t.publish(ctx)
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

// relationship creates the onboarding's reseller relationship and records
// done (the onboarding's status and relationship_created, with the
// relationship's id): inside this workflow in the lean shape
// (createRelationship), else as the child workflow it always was, recorded
// after it. notified waits for the partner notices (nothing to wait for with
// the child: it waited itself). An error of the record alone, in the older
// shape, is a recordFailed: it ends the onboarding as it did, without a
// "failed" record.
func (o *onboarding) relationship(ctx workflow.Context, rel RelationshipInput, summary string, done activities.Progress) (RelationshipResult, func(workflow.Context) error, error) {
	if o.t.lean {
		return createRelationship(ctx, &o.t, rel, done, o.logger)
	}
	result, err := runRelationship(ctx, rel, summary)
	if err != nil {
		return result, nil, err
	}
	if err := o.t.record(ctx, done.WithRelationship(result.RelationshipID)); err != nil {
		return result, nil, recordFailed{err}
	}
	return result, func(workflow.Context) error { return nil }, nil
}

// recordFailed is an onboarding's record that could not be written.
type recordFailed struct{ err error }

func (r recordFailed) Error() string { return r.err.Error() }
func (r recordFailed) Unwrap() error { return r.err }

// notRecorded tells a recordFailed, and gives its cause.
func notRecorded(err error) (error, bool) {
	var r recordFailed
	if errors.As(err, &r) {
		return r.err, true
	}
	return nil, false
}
