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
	in       PartnershipInput
	t        tracker
	wait     answerWait
	decision string
	logger   log.Logger
	mail     *mailer
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
		if w.decision != "" || w.t.status != models.PartnershipInvited {
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
				w.decision = decision
				return decision, nil
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
	if err := w.t.record(ctx, models.PartnershipInvited, "partnership_invited", map[string]string{"provider_id": w.in.Provider.ID}, false, ""); err != nil {
		return w.status(), err
	}
	notice := fmt.Sprintf("%s invites you to become one of its indirect resellers.\n\nAccept with POST /v1/partnerships/%s/accept, or decline with POST /v1/partnerships/%s/decline.\nThe invitation expires on %s (UTC).",
		w.in.Provider.Name, id, id, w.wait.expiresAt().Format("2 January 2006"))
	if err := w.mail.send(ctx, partnerNotice("partnership:"+id+":invite", w.in.Reseller, "Partnership invitation from "+w.in.Provider.Name, notice), nil); err != nil {
		return w.status(), err
	}
	w.t.setStep(ctx, "Waiting for the reseller to accept or decline")
	expired, err := waitForAnswer(ctx, w.wait, func() bool { return w.decision != "" }, never, nothing,
		func(n int) error {
			return w.mail.send(ctx, partnerNotice(fmt.Sprintf("partnership:%s:reminder:%d", id, n), w.in.Reseller,
				"Reminder: partnership invitation from "+w.in.Provider.Name, notice), nil)
		})
	if err != nil {
		if isCancellation(err) {
			w.recordCancelled(ctx)
		}
		return w.status(), err
	}
	switch {
	case expired:
		w.t.setStep(ctx, "Expired without an answer")
		err = w.t.record(ctx, models.PartnershipExpired, "partnership_expired", nil, false, "")
	case w.decision == models.PartnershipActive:
		w.t.setStep(ctx, "Active")
		if err = w.t.record(ctx, models.PartnershipActive, "partnership_accepted", nil, false, ""); err == nil {
			err = w.mail.sendNow(ctx, partnerNotice("partnership:"+id+":accepted", w.in.Provider, w.in.Reseller.Name+" accepted your partnership",
				w.in.Reseller.Name+" is now one of your indirect resellers."))
		}
	default:
		w.t.setStep(ctx, "Declined by the reseller")
		err = w.t.record(ctx, models.PartnershipDeclined, "partnership_declined", nil, false, "")
	}
	if err != nil {
		return w.status(), err
	}
	w.logger.Info("Partnership decided", "status", w.t.status)
	if w.mail.async {
		if err := w.mail.finish(ctx); err != nil {
			return w.status(), err
		}
	}
	return w.status(), workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// recordCancelled must run even though the workflow's context is cancelled.
func (w *partnership) recordCancelled(ctx workflow.Context) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := w.t.record(dctx, models.PartnershipRemoved, "partnership_cancelled", nil, false, ""); err != nil {
		w.logger.Error("Could not record the cancellation", "error", err)
	}
}
