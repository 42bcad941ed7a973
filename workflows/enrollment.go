package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
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
	var decision string
	var answer Answer
	status := func() EnrollmentStatus {
		return EnrollmentStatus{PartnerID: in.Partner.ID, Status: t.status, Step: t.step, SubmittedAt: start, EscalatesAt: escalatesAt, Reason: answer.Reason}
	}
	logger := log.With(workflow.GetLogger(ctx), "partner_id", in.Partner.ID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (EnrollmentStatus, error) { return status(), nil }); err != nil {
		return status(), err
	}
	validate := func(ctx workflow.Context, a Answer) error {
		if decision != "" {
			return temporal.NewApplicationError("this enrollment was already "+decision, ErrTypeAlreadyDecided)
		}
		if len(a.Reason) > 1000 {
			return temporal.NewApplicationError("the reason is limited to 1000 characters", ErrTypeAlreadyDecided)
		}
		return nil
	}
	for _, u := range []struct{ name, decision string }{{UpdateApprove, models.EnrollmentApproved}, {UpdateReject, models.EnrollmentRejected}} {
		d := u.decision
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, func(ctx workflow.Context, a Answer) (string, error) {
			decision, answer = d, a
			return d, nil
		}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
			return status(), err
		}
	}

	// An enrollment submitted again after a rejection is a new run on the
	// same subject: its timeline continues after the earlier run's events,
	// whose sequence numbers it would otherwise reuse (and lose).
	if workflow.GetVersion(ctx, "enrollment-timeline-continues", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.LastEventSeq, in.Partner.ID).Get(ctx, &t.seq); err != nil {
			return status(), err
		}
	}
	if err := t.record(ctx, models.EnrollmentSubmitted, "enrollment_submitted", nil, false, ""); err != nil {
		return status(), err
	}
	operators := Party{Name: "CSP operations", Email: in.OperatorEmail}
	review := fmt.Sprintf("%s (%s) submitted its indirect-reseller enrollment.\nApprove: POST /v1/admin/enrollments/%s/approve\nReject:  POST /v1/admin/enrollments/%s/reject with {\"reason\": \"…\"}\nPlease decide by %s (5 business days).",
		in.Partner.Name, in.Partner.ID, in.Partner.ID, in.Partner.ID, escalatesAt.Format("Monday 2 January 2006"))
	if err := sendEmail(ctx, partnerNotice("enrollment:"+in.Partner.ID+":"+start.Format("20060102T150405")+":review", operators, "Enrollment to review: "+in.Partner.Name, review)); err != nil {
		return status(), err
	}
	t.setStep(ctx, "Waiting for an operator to review the enrollment")
	wait := answerWait{start: start, reminders: []time.Duration{in.RemindAfter, escalatesAt.Sub(start)}}
	_, err := waitForAnswer(ctx, wait, func() bool { return decision != "" }, never, nothing, func(n int) error {
		subject, event := "Reminder: enrollment to review: "+in.Partner.Name, "operators_reminded"
		if n == 2 {
			subject, event = "Escalation: enrollment waiting 5 business days: "+in.Partner.Name, "escalated"
			t.setStep(ctx, "Escalated: waiting for an operator")
		}
		key := fmt.Sprintf("enrollment:%s:%s:%s", in.Partner.ID, start.Format("20060102T150405"), event)
		if err := sendEmail(ctx, partnerNotice(key, operators, subject, review)); err != nil {
			return err
		}
		return t.record(ctx, models.EnrollmentSubmitted, event, nil, false, "")
	})
	if err != nil {
		return status(), err
	}
	details := map[string]string{}
	if answer.Reason != "" {
		details["reason"] = answer.Reason
	}
	t.setStep(ctx, "Enrollment "+decision)
	if err := t.record(ctx, decision, "enrollment_"+decision, details, false, ""); err != nil {
		return status(), err
	}
	body := "Your indirect-reseller enrollment was approved. You can now extend your direct-bill customers' relationships to your providers (POST /v1/relationship-extensions)."
	if decision == models.EnrollmentRejected {
		body = "Your indirect-reseller enrollment was rejected: " + nonEmpty(answer.Reason, "no reason given") + ".\nYou can correct it and submit again (POST /v1/enrollment)."
	}
	if err := sendEmail(ctx, partnerNotice(fmt.Sprintf("enrollment:%s:%s:%s", in.Partner.ID, start.Format("20060102T150405"), decision), in.Partner, "Your enrollment was "+decision, body)); err != nil {
		return status(), err
	}
	logger.Info("Enrollment decided", "status", decision)
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
