package workflows

import (
	"errors"
	"maps"
	"math"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
)

// MailGiveUp is how long an e-mail is retried before it counts as failed
// (MAIL_GIVE_UP). The worker sets it once at start, before any workflow runs.
var MailGiveUp = 24 * time.Hour

// versionAsyncEmail: e-mails are sent beside the wait instead of in front of
// it, and a failed one is recorded instead of failing the process.
const versionAsyncEmail = "async-email"

// emailOptions retry a transient failure with backoff until MAIL_GIVE_UP; the
// relay's final refusals are not retried.
func emailOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: MailGiveUp,
		// A send beats while it runs: one whose worker died is retried after
		// a few missed beats, not at the end of the two minutes.
		HeartbeatTimeout: 4 * activities.EmailHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    10 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
			// Bounded by MAIL_GIVE_UP, not by a count (0 would mean the same to
			// the server, but the SDK's test environment caps 0 at 10 attempts).
			MaximumAttempts: math.MaxInt32,
			NonRetryableErrorTypes: []string{
				activities.ErrTypeInvalidInput, activities.ErrTypeEmailRejected,
				activities.ErrTypeEmailObsolete, activities.ErrTypeNoSecretKey,
			},
		},
	})
}

// withSentEvent asks SendEmail to write the reserved "sent" event itself once
// the message went out (see tracker.reserve).
func withSentEvent(e activities.Email, sent activities.Progress) activities.Email {
	e.Sent = &sent
	return e
}

// Delivery states in EmailDelivery.
const (
	DeliveryPending = "pending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
)

// EmailDelivery is what became of a process's latest e-mail to its
// counterpart, for the status query.
type EmailDelivery struct {
	State   string `json:"state"`
	To      string `json:"to,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// mailer sends a process's e-mails. With async (new runs) a send never sits in
// front of a wait: the activity runs beside it, and its outcome is recorded
// when it comes. A final failure becomes an email_failed timeline event; the
// process goes on (it can still expire, be cancelled, or be resent).
type mailer struct {
	t        *tracker
	async    bool
	logger   log.Logger
	pending  int
	cancels  []workflow.CancelFunc
	delivery *EmailDelivery
	// unreported are the pending e-mails that carry a personal link, by key.
	unreported map[string]*activities.Email
}

func newMailer(ctx workflow.Context, t *tracker, logger log.Logger) *mailer {
	return &mailer{t: t, logger: logger, async: t.lean || workflow.GetVersion(ctx, versionAsyncEmail, workflow.DefaultVersion, 1) == 1}
}

// send starts an e-mail. onSent runs once it was delivered (or held).
// Before async, the send blocked and its error ended the process, as it did.
func (m *mailer) send(ctx workflow.Context, e activities.Email, onSent func(workflow.Context) error) error {
	if !m.async {
		if err := sendEmail(ctx, e); err != nil {
			return err
		}
		if onSent != nil {
			return onSent(ctx)
		}
		return nil
	}
	sctx, cancel := workflow.WithCancel(ctx)
	if e.Link != nil {
		// A link-bearing e-mail is obsolete once the process ends; others (notices) are awaited.
		m.cancels = append(m.cancels, cancel)
		if m.unreported == nil {
			m.unreported = map[string]*activities.Email{}
		}
		m.unreported[e.Key] = &e
	}
	m.pending++
	m.delivery = &EmailDelivery{State: DeliveryPending, To: e.To}
	current := m.delivery
	f := workflow.ExecuteActivity(emailOptions(sctx), a.SendEmail, e)
	workflow.Go(sctx, func(gctx workflow.Context) {
		defer func() {
			m.pending--
			if e.Link != nil {
				delete(m.unreported, e.Key)
			}
		}()
		m.outcome(gctx, e, f.Get(gctx, nil), current, onSent)
	})
	return nil
}

// idle tells that no e-mail is on its way: ending the process waits for none.
func (m *mailer) idle() bool {
	return m == nil || (m.pending == 0 && len(m.unreported) == 0)
}

// sendNow delivers an e-mail and waits for the outcome, recording a failure
// instead of returning it: for notices after the process has decided.
func (m *mailer) sendNow(ctx workflow.Context, e activities.Email) error {
	if !m.async {
		return sendEmail(ctx, e)
	}
	d := &EmailDelivery{State: DeliveryPending, To: e.To}
	err := workflow.ExecuteActivity(emailOptions(ctx), a.SendEmail, e).Get(ctx, nil)
	if isCancellation(err) {
		return err
	}
	m.outcome(ctx, e, err, d, nil)
	return nil
}

func (m *mailer) outcome(ctx workflow.Context, e activities.Email, err error, d *EmailDelivery, onSent func(workflow.Context) error) {
	if err != nil && !isCancellation(err) && gaveUp(err) {
		// Given up after MAIL_GIVE_UP: mark the outbox row failed (its sealed link goes), unless it went out at the last moment.
		var delivered bool
		if gerr := workflow.ExecuteActivity(withActivityOptions(ctx), a.GiveUpEmail, e.Key).Get(ctx, &delivered); gerr == nil && delivered {
			err = nil
		}
	}
	switch {
	case err == nil:
		d.State = DeliverySent
		if onSent != nil {
			if rerr := onSent(ctx); rerr != nil && !isCancellation(rerr) {
				m.logger.Error("Could not record the e-mail's delivery", "key", e.Key, "error", rerr)
			}
		}
	case isCancellation(err) || ctx.Err() != nil:
		// The process ended first; the e-mail no longer matters.
	default:
		f, obsolete := emailFailure(err)
		if obsolete {
			return
		}
		d.State, d.Reason, d.Message = DeliveryFailed, f.Reason, f.Message
		m.logger.Warn("E-mail not delivered", "key", e.Key, "reason", f.Reason, "error", f.Message)
		if rerr := m.t.record(ctx, activities.Progress{Event: "email_failed", Details: map[string]string{
			"email": e.Key, "to": e.To, "reason": f.Reason, "message": truncateText(f.Message, 500),
		}}); rerr != nil && !isCancellation(rerr) {
			m.logger.Error("Could not record the failed e-mail", "key", e.Key, "error", rerr)
		}
	}
}

// settle gives the link-bearing e-mails under way a moment to report their
// delivery, so that a customer's answer to an e-mail lands on the timeline
// after that e-mail's "sent" (the customer can read it before our activity
// reports back). A relay that is down costs the answer at most finishGrace.
func (m *mailer) settle(ctx workflow.Context) error {
	if m == nil || !m.async || len(m.unreported) == 0 {
		return nil
	}
	_, err := workflow.AwaitWithTimeout(ctx, finishGrace, func() bool { return len(m.unreported) == 0 })
	return err
}

// versionAnswerProvesDelivery: an answer through an e-mail's link records
// that e-mail's "sent" when its delivery has not reported (settleAnswer).
const versionAnswerProvesDelivery = "answer-proves-delivery"

// settleAnswer is settle for a customer's answer through the personal link
// of the e-mail keyed emailKey. The answer proves that e-mail arrived: if its
// delivery has still not reported after the grace (its worker died after the
// relay accepted it, say), its reserved "sent" is recorded now, so that the
// timeline holds the e-mail before the answer. The delivery's own record of
// the same reserved event, should it come later, changes nothing.
func (m *mailer) settleAnswer(ctx workflow.Context, emailKey string) error {
	if err := m.settle(ctx); err != nil || m == nil || !m.async || emailKey == "" {
		return err
	}
	e := m.unreported[emailKey]
	if e == nil || e.Sent == nil {
		return nil
	}
	if !m.t.lean && workflow.GetVersion(ctx, versionAnswerProvesDelivery, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	sent := *e.Sent
	sent.Details = maps.Clone(sent.Details)
	if sent.Details == nil {
		sent.Details = map[string]string{}
	}
	sent.Details["confirmed_by"] = "answer"
	m.logger.Warn("E-mail delivery not reported; the customer's answer through its link proves it arrived", "key", emailKey)
	return m.t.decide(ctx, sent)
}

// finishGrace is how long an ending process waits for the outcome of an
// e-mail already under way before dropping it.
const finishGrace = 5 * time.Second

// finish cancels e-mails whose link the end closed, and waits for the notices.
func (m *mailer) finish(ctx workflow.Context) error {
	if len(m.unreported) > 0 {
		// The customer may have answered an e-mail whose delivery is not yet
		// reported: give that outcome a moment, so the timeline shows it sent.
		if _, err := workflow.AwaitWithTimeout(ctx, finishGrace, func() bool { return len(m.unreported) == 0 }); err != nil {
			return err
		}
	}
	for _, cancel := range m.cancels {
		cancel()
	}
	m.cancels = nil
	return workflow.Await(ctx, func() bool { return m.pending == 0 })
}

// emailFailure reads why an e-mail failed; obsolete means it no longer had to go.
func emailFailure(err error) (f activities.EmailFailure, obsolete bool) {
	if gaveUp(err) {
		return activities.EmailFailure{Reason: "gave_up", Message: "not delivered within MAIL_GIVE_UP; last error: " + rootMessage(err)}, false
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case activities.ErrTypeEmailObsolete:
			return f, true
		case activities.ErrTypeEmailRejected:
			if app.HasDetails() && app.Details(&f) == nil && f.Reason != "" {
				return f, false
			}
		}
		return activities.EmailFailure{Reason: app.Type(), Message: app.Message()}, false
	}
	return activities.EmailFailure{Reason: "error", Message: rootMessage(err)}, false
}

// gaveUp tells a send that ran out of MAIL_GIVE_UP: a timeout, or a last
// attempt's retryable error (the retry policy has no other bound).
func gaveUp(err error) bool {
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return true
	}
	var app *temporal.ApplicationError
	return !errors.As(err, &app) || !app.NonRetryable()
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
