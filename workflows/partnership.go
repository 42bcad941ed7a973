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

// PartnershipInput starts a provider's invitation of a reseller.
type PartnershipInput struct {
	PartnershipID string
	Provider      Party
	Reseller      Party
	Reminders     []time.Duration
	ExpireAfter   time.Duration
}

// PartnershipStatus answers the status query.
type PartnershipStatus struct {
	PartnershipID string    `json:"partnership_id"`
	Status        string    `json:"status"`
	Step          string    `json:"step"`
	ExpiresAt     time.Time `json:"expires_at"`
}

type partnership struct {
	onboarding
	in       PartnershipInput
	wait     answerWait
	decision decision
}

// PartnershipWorkflow waits for the reseller to accept or decline a
// provider's partnership, reminding it, until the invitation expires.
func PartnershipWorkflow(ctx workflow.Context, in PartnershipInput) (PartnershipStatus, error) {
	w := &partnership{in: in}
	if err := w.setup(ctx); err != nil {
		return w.status(), err
	}
	return w.run(ctx)
}

func (w *partnership) status() PartnershipStatus {
	return PartnershipStatus{PartnershipID: w.in.PartnershipID, Status: w.t.status, Step: w.t.step, ExpiresAt: w.wait.expiresAt()}
}

func (w *partnership) setup(ctx workflow.Context) error {
	w.t = tracker{kind: activities.KindPartnership, subjectID: w.in.PartnershipID, status: models.PartnershipInvited}
	w.wait = answerWait{start: workflow.Now(ctx), reminders: w.in.Reminders, expireAfter: w.in.ExpireAfter}
	w.logger = log.With(workflow.GetLogger(ctx), "partnership_id", w.in.PartnershipID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (PartnershipStatus, error) { return w.status(), nil }); err != nil {
		return err
	}
	validate := func(ctx workflow.Context) error {
		if w.decision.name != "" || w.t.status != models.PartnershipInvited {
			return temporal.NewApplicationError("this partnership invitation was already answered (status "+w.t.status+")", ErrTypeAlreadyDecided)
		}
		if !workflow.Now(ctx).Before(w.wait.expiresAt()) {
			return temporal.NewApplicationError("this partnership invitation has expired", ErrTypeExpired)
		}
		return nil
	}
	for _, u := range []struct{ name, decision string }{
		{UpdateAccept, models.PartnershipActive}, {UpdateDecline, models.PartnershipDeclined},
	} {
		decision := u.decision
		err := workflow.SetUpdateHandlerWithOptions(ctx, u.name,
			func(ctx workflow.Context) (string, error) {
				return decision, w.decision.take(ctx, decision, func() bool { return w.wait.quiet }, w.recordDecision)
			},
			workflow.UpdateHandlerOptions{Validator: validate})
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *partnership) run(ctx workflow.Context) (PartnershipStatus, error) {
	id := w.in.PartnershipID
	w.mail = newMailer(ctx, &w.t, w.logger)
	if err := w.t.record(ctx, activities.Progress{Status: models.PartnershipInvited, Event: "partnership_invited", Details: map[string]string{"provider_id": w.in.Provider.ID}}); err != nil {
		return w.status(), err
	}
	notice := emails.Data{Provider: w.in.Provider.Name, ID: id, ExpiresAt: w.wait.expiresAt()}
	if err := w.mail.send(ctx, partnerNotice(PartnershipWorkflowID(id)+":invite", w.in.Reseller, emails.PartnershipInvitation, notice), nil); err != nil {
		return w.status(), err
	}
	w.t.setStep(ctx, "Waiting for the reseller to accept or decline")
	expired, err := waitForAnswer(ctx, &w.wait, func() bool { return w.decision.name != "" }, never, nothing,
		func(n int) error {
			reminder := notice
			reminder.Reminder = true
			return w.mail.send(ctx, partnerNotice(fmt.Sprintf("%s:reminder:%d", PartnershipWorkflowID(id), n), w.in.Reseller, emails.PartnershipInvitation, reminder), nil)
		})
	if err != nil {
		if isCancellation(err) {
			w.recordCancelled(ctx)
		}
		return w.status(), err
	}
	recorded, err := w.decision.settled(ctx)
	if err != nil {
		return w.status(), err
	}
	switch {
	case expired:
		w.t.setStep(ctx, "Expired without an answer")
		err = w.t.record(ctx, activities.Progress{Status: models.PartnershipExpired, Event: "partnership_expired"})
	case !recorded:
		err = w.recordDecision(ctx)
	}
	if err == nil && !expired && w.decision.name == models.PartnershipActive {
		err = w.mail.sendNow(ctx, partnerNotice(PartnershipWorkflowID(id)+":accepted", w.in.Provider, emails.PartnershipAccepted, emails.Data{Reseller: w.in.Reseller.Name}))
	}
	if err != nil {
		return w.status(), err
	}
	w.logger.Info("Partnership decided", "status", w.t.status)
	if err := w.mailSettled(ctx); err != nil {
		return w.status(), err
	}
	return w.status(), w.finish(ctx)
}

// recordDecision writes the reseller's answer: from the update handler, or
// from run() in executions older than read-your-writes.
func (w *partnership) recordDecision(ctx workflow.Context) error {
	step, event := "Declined by the reseller", "partnership_declined"
	if w.decision.name == models.PartnershipActive {
		step, event = "Active", "partnership_accepted"
	}
	w.t.setStep(ctx, step)
	p := activities.Progress{Status: w.decision.name, Event: event}
	if w.decision.inHandler {
		return w.t.decide(ctx, p)
	}
	return w.t.record(ctx, p)
}

// recordCancelled must run even though the workflow's context is cancelled.
func (w *partnership) recordCancelled(ctx workflow.Context) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := w.t.record(dctx, activities.Progress{Status: models.PartnershipRemoved, Event: "partnership_cancelled"}); err != nil {
		w.logger.Error("Could not record the cancellation", "error", err)
	}
}
