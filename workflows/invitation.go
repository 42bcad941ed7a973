package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

// InvitationInput starts a reseller's invitation of a customer.
type InvitationInput struct {
	InvitationID    string
	Reseller        Party
	Provider        Party
	CustomerID      string // an existing customer of the reseller, or empty for a new one
	CustomerCompany string
	CustomerEmail   string
	Message         string
	Locale          string // the customer's language (i18n.Supported); empty: English
	DelegatedAdmin  *models.DelegatedAdminRequest
	// ContactEmailReason: the reseller's reason for an address on its own or
	// the provider's domain; on the timeline with the creation.
	ContactEmailReason string
	// Microsoft: the customer accepts at Microsoft too, after our page
	// (MICROSOFT_MODE live or simulated); nil in off mode.
	Microsoft   *ResellerRelationshipRequest
	Reminders   []time.Duration
	ExpireAfter time.Duration
}

// InvitationStatus answers the status query.
type InvitationStatus struct {
	InvitationID   string    `json:"invitation_id"`
	Status         string    `json:"status"`
	Step           string    `json:"step"`
	ExpiresAt      time.Time `json:"expires_at"`
	RemindersSent  int       `json:"reminders_sent"`
	Resends        int       `json:"resends"`
	CustomerID     string    `json:"customer_id,omitempty"`
	RelationshipID string    `json:"relationship_id,omitempty"`
	CustomerEmail  string    `json:"customer_email,omitempty"`
	// EmailDelivery is the latest e-mail to the customer: pending, sent or failed (with why).
	EmailDelivery *EmailDelivery `json:"email_delivery,omitempty"`
	// The acceptance at Microsoft (live or simulated mode), once the
	// customer accepted on our page.
	CustomerTenantID   string    `json:"customer_tenant_id,omitempty"`
	MicrosoftAcceptURL string    `json:"microsoft_accept_url,omitempty"`
	MicrosoftExpiresAt time.Time `json:"microsoft_expires_at,omitzero"`
}

// EmailChange is a partner's corrected customer address.
type EmailChange struct {
	Email string `json:"email"`
}

type invitation struct {
	onboarding
	in           InvitationInput
	wait         answerWait
	st           InvitationStatus
	decision     decision // models.InvitationAccepted, …Declined or …Cancelled
	answer       Answer
	resendsAsked int
	// resendInHandler: the resend handler sends and records the e-mail
	// itself (read-your-writes); resending counts those still running.
	resendInHandler bool
	resending       int
	resentAt        []time.Time // accepted resends, for the limit per day
	// withdraw stops the wait for Microsoft when the reseller cancels then
	// (withdrawable); withdrawRecorded once run() recorded it.
	withdraw                    workflow.Channel
	withdrawn, withdrawRecorded bool
	// ids: the relationship's and a new customer's, minted in the first
	// workflow task (lean shape; see mintStepIDs).
	ids []string
}

// Resends are limited per invitation, in the update's validator, so the
// limit holds whichever API replica asks.
const (
	MaxResendsPerDay   = 5
	ErrTypeResendLimit = "ResendLimit"
)

// InvitationWorkflow sends the invitation, waits for the customer (with
// reminders, resends, partner cancel and expiry) and, on acceptance, runs
// relationship creation as a child workflow.
func InvitationWorkflow(ctx workflow.Context, in InvitationInput) (InvitationStatus, error) {
	w := &invitation{in: in}
	if err := w.setup(ctx); err != nil {
		return w.status(), err
	}
	return w.run(ctx)
}

func (w *invitation) status() InvitationStatus {
	s := w.st
	s.Status, s.Step, s.CustomerEmail = w.t.status, w.t.step, w.in.CustomerEmail
	if w.mail != nil && w.mail.delivery != nil {
		d := *w.mail.delivery
		s.EmailDelivery = &d
	}
	return s
}

func (w *invitation) setup(ctx workflow.Context) error {
	w.t = tracker{kind: activities.KindInvitation, subjectID: w.in.InvitationID, status: models.InvitationWaitingForCustomer, lean: leanShape(ctx)}
	w.decision.lean = w.t.lean
	w.wait = answerWait{start: workflow.Now(ctx), reminders: w.in.Reminders, expireAfter: w.in.ExpireAfter}
	w.st = InvitationStatus{InvitationID: w.in.InvitationID, ExpiresAt: w.wait.expiresAt().UTC(), CustomerID: w.in.CustomerID}
	w.logger = log.With(workflow.GetLogger(ctx), "invitation_id", w.in.InvitationID, "reseller_id", w.in.Reseller.ID)

	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (InvitationStatus, error) { return w.status(), nil }); err != nil {
		return err
	}
	validateOpen := func(ctx workflow.Context) error {
		if w.decision.name != "" || w.t.status != models.InvitationWaitingForCustomer {
			return temporal.NewApplicationError(fmt.Sprintf("this invitation is no longer open (status %s)", w.t.status), ErrTypeAlreadyDecided)
		}
		if !workflow.Now(ctx).Before(w.wait.expiresAt()) {
			return temporal.NewApplicationError("this invitation has expired", ErrTypeExpired)
		}
		return nil
	}
	for _, u := range []struct{ name, decision string }{
		{UpdateAccept, models.InvitationAccepted},
		{UpdateDecline, models.InvitationDeclined},
		{UpdateCancel, models.InvitationCancelled},
	} {
		decision := u.decision
		handler := func(ctx workflow.Context, ans Answer) (string, error) {
			w.answer = ans
			return decision, w.decision.take(ctx, decision, w.quiet, w.settleThenRecord)
		}
		validator := func(ctx workflow.Context, _ Answer) error { return validateOpen(ctx) }
		if u.name == UpdateCancel {
			handler, validator = w.withdrawable(handler, validator)
		}
		err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, handler, workflow.UpdateHandlerOptions{Validator: validator})
		if err != nil {
			return err
		}
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateChangeEmail,
		func(ctx workflow.Context, c EmailChange) (string, error) {
			previous := w.in.CustomerEmail
			w.in.CustomerEmail = c.Email
			return c.Email, w.t.record(ctx, activities.Progress{Event: "customer_email_changed", CustomerEmail: c.Email,
				Details: map[string]string{"from": previous, "to": c.Email}})
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, c EmailChange) error {
			if err := validateOpen(ctx); err != nil {
				return err
			}
			if c.Email == "" || !strings.Contains(c.Email, "@") {
				return temporal.NewApplicationError("a customer e-mail address is needed", activities.ErrTypeInvalidInput)
			}
			return nil
		}}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateResend,
		func(ctx workflow.Context) (int, error) {
			w.resendsAsked++
			w.resentAt = append(w.resentAt, workflow.Now(ctx))
			n := w.resendsAsked
			if !w.t.readsOwnWrites(ctx) {
				return n, nil // older executions: run() resends
			}
			w.resendInHandler = true
			// One at a time, and not while run() records: the timeline
			// keeps its order.
			if err := workflow.Await(ctx, w.quiet); err != nil {
				return n, err
			}
			w.resending++
			defer func() { w.resending-- }()
			return n, w.resendNumber(ctx, n)
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context) error {
			if err := validateOpen(ctx); err != nil {
				return err
			}
			return w.validateResendLimit(workflow.Now(ctx))
		}})
}

// validateResendLimit refuses a resend past MaxResendsPerDay in the last 24
// hours; the error's details carry the seconds until one is allowed again.
func (w *invitation) validateResendLimit(now time.Time) error {
	var recent []time.Time
	for _, at := range w.resentAt {
		if now.Sub(at) < 24*time.Hour {
			recent = append(recent, at)
		}
	}
	if len(recent) < MaxResendsPerDay {
		return nil
	}
	wait := recent[len(recent)-MaxResendsPerDay].Add(24 * time.Hour).Sub(now)
	return temporal.NewApplicationError(fmt.Sprintf("this invitation was resent %d times in the last 24 hours, the most allowed; "+
		"the next resend is possible in %s", len(recent), wait.Round(time.Minute)), ErrTypeResendLimit, int(wait.Seconds())+1)
}

func (w *invitation) run(ctx workflow.Context) (InvitationStatus, error) {
	id := w.in.InvitationID
	w.mail = newMailer(ctx, &w.t, w.logger)
	w.t.setStep(ctx, "Sending the invitation e-mail")
	created := map[string]string{"provider_id": w.in.Provider.ID, "customer_email": w.in.CustomerEmail}
	if w.in.ContactEmailReason != "" {
		created["contact_email_reason"] = w.in.ContactEmailReason
	}
	if err := w.t.record(ctx, activities.Progress{Status: models.InvitationWaitingForCustomer, Event: "invitation_created", Details: created}); err != nil {
		return w.status(), err
	}
	w.ids = mintStepIDs(ctx, &w.t, 2)
	sent := w.t.reserve(ctx, "invitation_sent", map[string]string{"to": w.in.CustomerEmail})
	if err := w.mail.send(ctx, withSentEvent(invitationEmail(w.in, InvitationWorkflowID(id)+":initial", false, &w.st), sent), w.t.recordSent(sent)); err != nil {
		return w.fail(ctx, err)
	}

	w.t.setStep(ctx, "Waiting for the customer to accept or decline, until "+w.st.ExpiresAt.Format(time.RFC3339))
	expired, err := waitForAnswer(ctx, &w.wait,
		func() bool { return w.decision.name != "" },
		func() bool { return !w.resendInHandler && w.resendsAsked > w.st.Resends },
		func() error { return w.resend(ctx) },
		func(n int) error { return w.remind(ctx, n) })
	if err != nil {
		if isCancellation(err) {
			w.recordCancelled(ctx, "cancelled_by_operator")
		}
		return w.status(), err
	}
	// The answer is in: an invitation e-mail still being retried must not go out now.
	if err := w.mailSettled(ctx); err != nil {
		return w.status(), err
	}

	recorded, err := w.decision.settled(ctx)
	if err != nil {
		return w.status(), err
	}
	switch {
	case expired:
		w.t.setStep(ctx, "Expired without an answer")
		err = w.t.record(ctx, activities.Progress{Status: models.InvitationExpired, Event: "invitation_expired", CloseLinks: true})
	case w.decision.name == models.InvitationAccepted:
		return w.accept(ctx, recorded)
	case !recorded:
		err = w.recordDecision(ctx)
	}
	if err != nil {
		return w.status(), err
	}
	w.logger.Info("Invitation ended", "status", w.t.status)
	return w.status(), w.finish(ctx)
}

// settleThenRecord records a decision once the e-mails it may answer have
// reported their delivery (see mailer.settle).
func (w *invitation) settleThenRecord(ctx workflow.Context) error {
	if err := w.mail.settleAnswer(ctx, w.answer.EmailKey); err != nil {
		return err
	}
	return w.recordDecision(ctx)
}

// recordDecision writes the customer's or reseller's answer: from the update
// handler, or from run() in executions older than read-your-writes.
func (w *invitation) recordDecision(ctx workflow.Context) error {
	var step, event string
	switch w.decision.name {
	case models.InvitationAccepted:
		step, event = "Accepted: creating the reseller relationship", "customer_accepted"
	case models.InvitationDeclined:
		step, event = "Declined by the customer", "customer_declined"
	default:
		step, event = "Cancelled by the reseller", "cancelled_by_partner"
	}
	p := activities.Progress{Status: w.decision.name, Event: event, Details: answerDetails(w.answer), CloseLinks: true}
	w.t.setStep(ctx, step)
	switch {
	case w.decision.inHandler && w.t.lean && w.decision.name == models.InvitationAccepted &&
		w.in.Microsoft == nil && w.in.DelegatedAdmin == nil && w.mail.idle():
		// The relationship step follows in the same workflow task and upserts
		// "completed": nothing to wait for at Microsoft, no grant's activity,
		// no e-mail in flight for mailSettled to wait on.
		return w.t.decideInPassing(ctx, p)
	case w.decision.inHandler:
		return w.t.decide(ctx, p)
	}
	return w.t.record(ctx, p)
}

// quiet: run() records nothing now and no resend is running (a resend mints
// a link, which the decision must close after it).
func (w *invitation) quiet() bool { return w.wait.quiet && w.resending == 0 }

func (w *invitation) accept(ctx workflow.Context, recorded bool) (InvitationStatus, error) {
	if !recorded {
		if err := w.recordDecision(ctx); err != nil {
			return w.status(), err
		}
	}
	var tenantID string
	if w.in.Microsoft != nil {
		if w.in.ExpireAfter > 0 {
			w.st.MicrosoftExpiresAt = workflow.Now(ctx).Add(w.in.ExpireAfter).UTC()
		}
		outcome, err := w.awaitAcceptanceAtMicrosoft(ctx)
		switch {
		case isCancellation(err):
			w.recordCancelled(ctx, "cancelled_by_operator")
			return w.status(), err
		case err != nil:
			return w.fail(ctx, err)
		case outcome == partnerCenterStopped:
			return w.recordWithdrawn(ctx)
		case outcome == partnerCenterExpired:
			w.t.setStep(ctx, "Expired: not accepted at Microsoft")
			if err := w.t.record(ctx, activities.Progress{Status: models.InvitationExpired, Event: models.EventMicrosoftAcceptanceExpired, CloseLinks: true}); err != nil {
				return w.status(), err
			}
			return w.status(), w.finish(ctx)
		}
		tenantID = w.in.Microsoft.CustomerTenantID
		w.t.setStep(ctx, "Accepted at Microsoft: creating the reseller relationship")
		if err := w.t.record(ctx, activities.Progress{Status: models.InvitationAccepted, Event: models.EventAcceptedAtMicrosoft,
			Details: map[string]string{"customer_tenant_id": tenantID}}); err != nil {
			return w.status(), err
		}
	}
	// The lean shape minted both ids in its first workflow task; older
	// executions mint them now, one each.
	ids := w.ids
	if !w.t.lean {
		ids = []string{newID(ctx)}
	}
	rel := RelationshipInput{
		RelationshipID: ids[0],
		Source:         models.SourceInvitation,
		SourceID:       w.in.InvitationID,
		Reseller:       w.in.Reseller,
		Provider:       w.in.Provider,
		CustomerID:     w.in.CustomerID,
		CustomerName:   w.in.CustomerCompany,
		DelegatedAdmin: w.in.DelegatedAdmin,
	}
	if rel.CustomerID == "" {
		if !w.t.lean {
			ids = append(ids, newID(ctx))
		}
		rel.NewCustomer = &activities.NewCustomer{
			ID: ids[1], CompanyName: nonEmpty(w.in.CustomerCompany, w.in.CustomerEmail), Email: w.in.CustomerEmail,
			AcquiredVia: models.AcquiredViaInvitation, CreatedBy: w.in.Reseller.ID, TenantID: tenantID,
		}
		rel.CustomerID = rel.NewCustomer.ID
	}
	w.st.CustomerID = rel.CustomerID
	if w.t.lean {
		// Rides on the completion's status upsert: one event instead of two.
		w.t.alsoUpsert = append(w.t.alsoUpsert, SearchCustomer.ValueSet(rel.CustomerID))
	} else if err := workflow.UpsertTypedSearchAttributes(ctx, SearchCustomer.ValueSet(rel.CustomerID)); err != nil {
		return w.status(), err
	}
	result, notified, err := w.relationship(ctx, rel, "Relationship for invitation "+w.in.InvitationID,
		activities.Progress{Status: models.InvitationCompleted, Event: "relationship_created", Details: map[string]string{"customer_id": rel.CustomerID}})
	if cause, ok := notRecorded(err); ok {
		return w.status(), cause
	} else if err != nil {
		return w.fail(ctx, err)
	}
	w.st.RelationshipID = result.RelationshipID
	w.t.setStep(ctx, "Completed: the relationship exists")
	w.logger.Info("Invitation completed", "relationship_id", result.RelationshipID)
	if err := notified(ctx); err != nil {
		return w.status(), err
	}
	return w.status(), w.finish(ctx)
}

func (w *invitation) remind(ctx workflow.Context, n int) error {
	key := fmt.Sprintf("%s:reminder:%d", InvitationWorkflowID(w.in.InvitationID), n)
	sent := w.t.reserve(ctx, "reminder_sent", map[string]string{"reminder": fmt.Sprint(n), "to": w.in.CustomerEmail})
	return w.mail.send(ctx, withSentEvent(invitationEmail(w.in, key, true, &w.st), sent), func(ctx workflow.Context) error {
		w.st.RemindersSent = n
		return w.t.recordSent(sent)(ctx)
	})
}

func (w *invitation) resend(ctx workflow.Context) error {
	return w.resendNumber(ctx, w.st.Resends+1)
}

// resendNumber sends the n-th resend with a fresh link and records it.
func (w *invitation) resendNumber(ctx workflow.Context, n int) error {
	key := fmt.Sprintf("%s:resend:%d", InvitationWorkflowID(w.in.InvitationID), n)
	// A resend replaces the earlier links (runs started before this change
	// keep them, as their history says).
	if w.t.lean || workflow.GetVersion(ctx, "resend-supersedes-links", workflow.DefaultVersion, 1) == 1 {
		in := activities.SupersedeLinksInput{SubjectID: w.in.InvitationID, Purpose: models.LinkPurposeInvitation, At: workflow.Now(ctx)}
		if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.SupersedeLinks, in).Get(ctx, nil); err != nil {
			return err
		}
	}
	// Counted at once: the wait must not see the same resend asked again while the e-mail goes out.
	w.st.Resends = max(w.st.Resends, n)
	to := w.in.CustomerEmail
	details := map[string]string{"resend": fmt.Sprint(n), "to": to}
	if w.resendInHandler && w.mail.async {
		// The partner's answer says "resent": that is on the timeline now,
		// after the e-mails already under way reported; the e-mail goes out
		// beside it (email_failed if it cannot).
		if err := w.mail.settle(ctx); err != nil {
			return err
		}
		if err := w.mail.send(ctx, invitationEmail(w.in, key, false, &w.st), nil); err != nil {
			return err
		}
		return w.t.record(ctx, activities.Progress{Event: "invitation_resent", Details: details})
	}
	return w.mail.send(ctx, invitationEmail(w.in, key, false, &w.st), func(ctx workflow.Context) error {
		return w.t.record(ctx, activities.Progress{Event: "invitation_resent", Details: details})
	})
}

// fail records a failure the workflow cannot recover from, then ends.
func (w *invitation) fail(ctx workflow.Context, cause error) (InvitationStatus, error) {
	w.logger.Error("Invitation failed", "error", cause)
	w.t.setStep(ctx, "Failed: "+cause.Error())
	if err := w.t.record(ctx, activities.Progress{Status: models.InvitationFailed, Event: "failed", Details: map[string]string{"reason": rootMessage(cause)}, CloseLinks: true}); err != nil {
		return w.status(), err
	}
	return w.status(), cause
}

func (w *invitation) recordCancelled(ctx workflow.Context, event string) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	w.t.setStep(dctx, "Cancelled by an operator")
	if err := w.t.record(dctx, activities.Progress{Status: models.InvitationCancelled, Event: event, CloseLinks: true}); err != nil {
		w.logger.Error("Could not record the cancellation", "error", err)
	}
}

// newID mints a time-ordered ID once; replays read it from history.
func newID(ctx workflow.Context) string {
	var id string
	encoded := workflow.SideEffect(ctx, func(workflow.Context) any { return mintID() })
	if err := encoded.Get(&id); err != nil {
		panic(err) // a string always decodes; failing here is a bug worth a workflow-task retry
	}
	return id
}

func mintID() string { return uuid.Must(uuid.NewV7()).String() }

// rootMessage is the innermost error message: the reason a person can act on.
func rootMessage(err error) string {
	for next := errors.Unwrap(err); next != nil; next = errors.Unwrap(err) {
		err = next
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
