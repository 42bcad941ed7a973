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

type enrollment struct {
	onboarding
	in          EnrollmentInput
	start       time.Time
	escalatesAt time.Time
	wait        answerWait
	decision    decision
	answer      Answer
}

// EnrollmentWorkflow waits for an operator to approve or reject an
// enrollment. It never expires: it reminds, then escalates, then waits.
func EnrollmentWorkflow(ctx workflow.Context, in EnrollmentInput) (EnrollmentStatus, error) {
	w := &enrollment{in: in}
	if err := w.setup(ctx); err != nil {
		return w.status(), err
	}
	return w.run(ctx)
}

func (w *enrollment) status() EnrollmentStatus {
	return EnrollmentStatus{PartnerID: w.in.Partner.ID, Status: w.t.status, Step: w.t.step, SubmittedAt: w.start, EscalatesAt: w.escalatesAt, Reason: w.answer.Reason}
}

func (w *enrollment) setup(ctx workflow.Context) error {
	w.start = workflow.Now(ctx)
	w.escalatesAt = AddBusinessDays(w.start, w.in.EscalateAfterBusinessDays)
	w.t = tracker{kind: activities.KindEnrollment, subjectID: w.in.Partner.ID, status: models.EnrollmentSubmitted}
	w.wait = answerWait{start: w.start, reminders: []time.Duration{w.in.RemindAfter, w.escalatesAt.Sub(w.start)}}
	w.logger = log.With(workflow.GetLogger(ctx), "partner_id", w.in.Partner.ID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (EnrollmentStatus, error) { return w.status(), nil }); err != nil {
		return err
	}
	validate := func(ctx workflow.Context, a Answer) error {
		if w.decision.name != "" {
			return temporal.NewApplicationError("this enrollment was already "+w.decision.name, ErrTypeAlreadyDecided)
		}
		if len(a.Reason) > 1000 {
			return temporal.NewApplicationError("the reason is limited to 1000 characters", ErrTypeAlreadyDecided)
		}
		return nil
	}
	for _, u := range []struct{ name, decision string }{{UpdateApprove, models.EnrollmentApproved}, {UpdateReject, models.EnrollmentRejected}} {
		d := u.decision
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, func(ctx workflow.Context, a Answer) (string, error) {
			w.answer = a
			return d, w.decision.take(ctx, d, func() bool { return w.wait.quiet }, w.recordDecision)
		}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
			return err
		}
	}
	return nil
}

// recordDecision writes the operator's answer: from the update handler, or
// from run() in executions older than read-your-writes.
func (w *enrollment) recordDecision(ctx workflow.Context) error {
	details := map[string]string{}
	if w.answer.Reason != "" {
		details["reason"] = w.answer.Reason
	}
	w.t.setStep(ctx, "Enrollment "+w.decision.name)
	p := activities.Progress{Status: w.decision.name, Event: "enrollment_" + w.decision.name, Details: details}
	if w.decision.inHandler {
		return w.t.decide(ctx, p)
	}
	return w.t.record(ctx, p)
}

func (w *enrollment) run(ctx workflow.Context) (EnrollmentStatus, error) {
	w.mail = newMailer(ctx, &w.t, w.logger)
	// An enrollment submitted again after a rejection is a new run on the
	// same subject: its timeline continues after the earlier run's events,
	// whose sequence numbers it would otherwise reuse (and lose).
	if workflow.GetVersion(ctx, "enrollment-timeline-continues", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.LastEventSeq, w.in.Partner.ID).Get(ctx, &w.t.seq); err != nil {
			return w.status(), err
		}
	}
	if err := w.t.record(ctx, activities.Progress{Status: models.EnrollmentSubmitted, Event: "enrollment_submitted"}); err != nil {
		return w.status(), err
	}
	if err := w.askOperators(ctx); err != nil {
		return w.status(), err
	}
	decided := w.decision.name
	if err := w.mail.sendNow(ctx, partnerNotice(w.emailKey(decided), w.in.Partner, emails.EnrollmentDecision,
		emails.Data{Approved: decided == models.EnrollmentApproved, Reason: w.answer.Reason})); err != nil {
		return w.status(), err
	}
	if err := w.mailSettled(ctx); err != nil {
		return w.status(), err
	}
	w.logger.Info("Enrollment decided", "status", decided)
	return w.status(), w.finish(ctx)
}

// askOperators sends the review request, reminds, escalates and waits for the
// decision, recorded once it returns.
func (w *enrollment) askOperators(ctx workflow.Context) error {
	operators := Party{Name: "CSP operations", Email: w.in.OperatorEmail}
	review := func(stage string) emails.Data {
		return emails.Data{Stage: stage, Partner: w.in.Partner.Name, PartnerID: w.in.Partner.ID, ExpiresAt: w.escalatesAt, BusinessDays: w.in.EscalateAfterBusinessDays}
	}
	if err := w.mail.send(ctx, partnerNotice(w.emailKey("review"), operators, emails.EnrollmentReview, review(emails.StageReview)), nil); err != nil {
		return err
	}
	w.t.setStep(ctx, "Waiting for an operator to review the enrollment")
	_, err := waitForAnswer(ctx, &w.wait, func() bool { return w.decision.name != "" }, never, nothing, func(n int) error {
		stage, event := emails.StageReminder, "operators_reminded"
		if n == 2 {
			stage, event = emails.StageEscalation, "escalated"
			w.t.setStep(ctx, "Escalated: waiting for an operator")
		}
		return w.mail.send(ctx, partnerNotice(w.emailKey(event), operators, emails.EnrollmentReview, review(stage)), func(ctx workflow.Context) error {
			return w.t.record(ctx, activities.Progress{Event: event})
		})
	})
	if err != nil {
		return err
	}
	recorded, err := w.decision.settled(ctx)
	if err == nil && !recorded {
		err = w.recordDecision(ctx)
	}
	return err
}

// emailKey names one of this run's e-mails: a run per submission.
func (w *enrollment) emailKey(what string) string {
	return fmt.Sprintf("%s:%s:%s", EnrollmentWorkflowID(w.in.Partner.ID), w.start.Format("20060102T150405"), what)
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
