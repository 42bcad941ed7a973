package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/models"
)

// EnrollmentInput starts the review of a reseller's indirect-reseller enrollment.
type EnrollmentInput struct {
	Partner       Party
	OperatorEmail string
	// RemindAfter reminds the operators; EscalateAfterBusinessDays escalates.
	RemindAfter               time.Duration
	EscalateAfterBusinessDays int
}

// EnrollmentStatus answers the status query.
type EnrollmentStatus struct {
	PartnerID   string    `json:"partner_id"`
	Status      string    `json:"status"`
	Step        string    `json:"step"`
	SubmittedAt time.Time `json:"submitted_at"`
	EscalatesAt time.Time `json:"escalates_at"`
	Reason      string    `json:"reason,omitempty"`
}

// EnrollmentWorkflow waits for an operator to approve or reject an
// enrollment. It never expires: it reminds, then escalates, then waits.
func EnrollmentWorkflow(ctx workflow.Context, in EnrollmentInput) (EnrollmentStatus, error) {
	start := workflow.Now(ctx)
	escalatesAt := AddBusinessDays(start, in.EscalateAfterBusinessDays)
	t := tracker{kind: activities.KindEnrollment, subjectID: in.Partner.ID, status: models.EnrollmentSubmitted}
	wait := answerWait{start: start, reminders: []time.Duration{in.RemindAfter, escalatesAt.Sub(start)}}
	var dec decision
	var answer Answer
	status := func() EnrollmentStatus {
		return EnrollmentStatus{PartnerID: in.Partner.ID, Status: t.status, Step: t.step, SubmittedAt: start, EscalatesAt: escalatesAt, Reason: answer.Reason}
	}
	logger := log.With(workflow.GetLogger(ctx), "partner_id", in.Partner.ID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (EnrollmentStatus, error) { return status(), nil }); err != nil {
		return status(), err
	}
	validate := func(ctx workflow.Context, a Answer) error {
		if dec.name != "" {
			return temporal.NewApplicationError("this enrollment was already "+dec.name, ErrTypeAlreadyDecided)
		}
		if len(a.Reason) > 1000 {
			return temporal.NewApplicationError("the reason is limited to 1000 characters", ErrTypeAlreadyDecided)
		}
		return nil
	}
	// recordDecision writes the operator's answer: from the update handler,
	// or from run() in executions older than read-your-writes.
	recordDecision := func(ctx workflow.Context) error {
		details := map[string]string{}
		if answer.Reason != "" {
			details["reason"] = answer.Reason
		}
		t.setStep(ctx, "Enrollment "+dec.name)
		p := activities.Progress{Status: dec.name, Event: "enrollment_" + dec.name, Details: details}
		if dec.inHandler {
			return t.decide(ctx, p)
		}
		return t.record(ctx, p)
	}
	for _, u := range []struct{ name, decision string }{{UpdateApprove, models.EnrollmentApproved}, {UpdateReject, models.EnrollmentRejected}} {
		d := u.decision
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, func(ctx workflow.Context, a Answer) (string, error) {
			answer = a
			return d, dec.take(ctx, d, func() bool { return wait.quiet }, recordDecision)
		}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
			return status(), err
		}
	}

	m := newMailer(ctx, &t, logger)
	// An enrollment submitted again after a rejection is a new run on the
	// same subject: its timeline continues after the earlier run's events,
	// whose sequence numbers it would otherwise reuse (and lose).
	if workflow.GetVersion(ctx, "enrollment-timeline-continues", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.LastEventSeq, in.Partner.ID).Get(ctx, &t.seq); err != nil {
			return status(), err
		}
	}
	if err := t.record(ctx, activities.Progress{Status: models.EnrollmentSubmitted, Event: "enrollment_submitted"}); err != nil {
		return status(), err
	}
	operators := Party{Name: "CSP operations", Email: in.OperatorEmail}
	review := func(stage string) emails.Data {
		return emails.Data{Stage: stage, Partner: in.Partner.Name, PartnerID: in.Partner.ID, ExpiresAt: escalatesAt, BusinessDays: in.EscalateAfterBusinessDays}
	}
	if err := m.send(ctx, partnerNotice("enrollment:"+in.Partner.ID+":"+start.Format("20060102T150405")+":review", operators, emails.EnrollmentReview, review(emails.StageReview)), nil); err != nil {
		return status(), err
	}
	t.setStep(ctx, "Waiting for an operator to review the enrollment")
	_, err := waitForAnswer(ctx, &wait, func() bool { return dec.name != "" }, never, nothing, func(n int) error {
		stage, event := emails.StageReminder, "operators_reminded"
		if n == 2 {
			stage, event = emails.StageEscalation, "escalated"
			t.setStep(ctx, "Escalated: waiting for an operator")
		}
		key := fmt.Sprintf("enrollment:%s:%s:%s", in.Partner.ID, start.Format("20060102T150405"), event)
		return m.send(ctx, partnerNotice(key, operators, emails.EnrollmentReview, review(stage)), func(ctx workflow.Context) error {
			return t.record(ctx, activities.Progress{Event: event})
		})
	})
	if err != nil {
		return status(), err
	}
	recorded, err := dec.settled(ctx)
	if err == nil && !recorded {
		err = recordDecision(ctx)
	}
	if err != nil {
		return status(), err
	}
	decided := dec.name
	if err := m.sendNow(ctx, partnerNotice(fmt.Sprintf("enrollment:%s:%s:%s", in.Partner.ID, start.Format("20060102T150405"), decided), in.Partner, emails.EnrollmentDecision,
		emails.Data{Approved: decided == models.EnrollmentApproved, Reason: answer.Reason})); err != nil {
		return status(), err
	}
	if m.async {
		if err := m.finish(ctx); err != nil {
			return status(), err
		}
	}
	logger.Info("Enrollment decided", "status", decided)
	return status(), workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// AddBusinessDays counts n weekdays after t (UTC), skipping Saturdays and Sundays.
func AddBusinessDays(t time.Time, n int) time.Time {
	t = t.UTC()
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}
