package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/models"
)

// Attestation is a partner's statement of consent (where policy allows it).
type Attestation struct {
	SignerName  string
	SignerEmail string
	ObtainedAt  time.Time
	Evidence    string
}

// ExtensionInput starts a relationship extension for a direct-bill customer.
type ExtensionInput struct {
	ExtensionID   string
	Reseller      Party
	Provider      Party
	CustomerID    string
	CustomerName  string
	CustomerEmail string
	Locale        string       // the customer's language (i18n.Supported); empty: English
	Method        string       // models.ConsentCustomerConfirmation or models.ConsentPartnerAttestation
	Attestation   *Attestation // with the partner_attestation method
	Reminders     []time.Duration
	ExpireAfter   time.Duration
	// Microsoft: the extension is made in Partner Center (MICROSOFT_MODE
	// live or simulated); nil in off mode.
	Microsoft *ExtensionAtMicrosoft `json:",omitempty"`
}

// ExtensionStatus answers the status query.
type ExtensionStatus struct {
	ExtensionID    string    `json:"extension_id"`
	Status         string    `json:"status"`
	Step           string    `json:"step"`
	ExpiresAt      time.Time `json:"expires_at"`
	RemindersSent  int       `json:"reminders_sent"`
	ConsentID      string    `json:"consent_id,omitempty"`
	RelationshipID string    `json:"relationship_id,omitempty"`
	// EmailDelivery is the latest e-mail to the customer: pending, sent or failed (with why).
	EmailDelivery *EmailDelivery `json:"email_delivery,omitempty"`
	// PartnerCenterExpiresAt: the end of the reseller's task in Partner
	// Center (live or simulated mode), once it has one.
	PartnerCenterExpiresAt time.Time `json:"partner_center_expires_at,omitzero"`
}

type extension struct {
	onboarding
	in       ExtensionInput
	wait     answerWait
	st       ExtensionStatus
	decision decision // consent, decline or cancel
	answer   Answer
	answerAt time.Time
}

// ExtensionWorkflow is the relationship extension with its consent gate: no
// bill-to share and no relationship exist until a consent record does.
func ExtensionWorkflow(ctx workflow.Context, in ExtensionInput) (ExtensionStatus, error) {
	w := &extension{in: in}
	if err := w.setup(ctx); err != nil {
		return w.status(), err
	}
	return w.run(ctx)
}

func (w *extension) status() ExtensionStatus {
	s := w.st
	s.Status, s.Step = w.t.status, w.t.step
	if w.mail != nil && w.mail.delivery != nil {
		d := *w.mail.delivery
		s.EmailDelivery = &d
	}
	return s
}

func (w *extension) setup(ctx workflow.Context) error {
	w.t = tracker{kind: activities.KindExtension, subjectID: w.in.ExtensionID, status: models.ExtensionWaitingForConsent, lean: leanShape(ctx)}
	w.decision.lean = w.t.lean
	w.wait = answerWait{start: workflow.Now(ctx), reminders: w.in.Reminders, expireAfter: w.in.ExpireAfter}
	w.st = ExtensionStatus{ExtensionID: w.in.ExtensionID, ExpiresAt: w.wait.expiresAt().UTC()}
	w.logger = log.With(workflow.GetLogger(ctx), "extension_id", w.in.ExtensionID, "reseller_id", w.in.Reseller.ID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (ExtensionStatus, error) { return w.status(), nil }); err != nil {
		return err
	}
	validate := func(ctx workflow.Context, _ Answer) error {
		if w.decision.name != "" || w.t.status != models.ExtensionWaitingForConsent || w.st.ConsentID != "" {
			return temporal.NewApplicationError(fmt.Sprintf("this consent request is no longer open (status %s)", w.t.status), ErrTypeAlreadyDecided)
		}
		if w.in.Method == models.ConsentPartnerAttestation {
			return temporal.NewApplicationError("consent was attested by the partner; there is nothing to answer", ErrTypeAlreadyDecided)
		}
		if !workflow.Now(ctx).Before(w.wait.expiresAt()) {
			return temporal.NewApplicationError("this consent request has expired", ErrTypeExpired)
		}
		return nil
	}
	for _, name := range []string{UpdateConsent, UpdateDecline, UpdateCancel} {
		decision := name
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, ans Answer) (string, error) {
				w.answer, w.answerAt = ans, workflow.Now(ctx)
				return map[string]string{UpdateConsent: "consent_given", UpdateDecline: models.ExtensionConsentDeclined,
					UpdateCancel: models.ExtensionCancelled}[decision], w.decision.take(ctx, decision, func() bool { return w.wait.quiet }, w.settleThenRecord)
			},
			workflow.UpdateHandlerOptions{Validator: validate})
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *extension) run(ctx workflow.Context) (ExtensionStatus, error) {
	id := w.in.ExtensionID
	w.mail = newMailer(ctx, &w.t, w.logger)
	w.t.setStep(ctx, "Checking the extension's rules")
	if err := w.t.record(ctx, activities.Progress{Status: models.ExtensionWaitingForConsent, Event: "extension_requested", Details: map[string]string{"provider_id": w.in.Provider.ID, "consent_method": w.in.Method}}); err != nil {
		return w.status(), err
	}
	// The rules are checked again here: partnership, enrollment or relationships may have changed since the request.
	if err := w.write(ctx, a.CheckExtensionGates, activities.ExtensionGates{
		ResellerID: w.in.Reseller.ID, ProviderID: w.in.Provider.ID, CustomerID: w.in.CustomerID,
	}).Get(ctx, nil); err != nil {
		return w.fail(ctx, err)
	}

	// The lean shape mints the consent's, the share's and the relationship's
	// ids at once (one marker); older executions one each, when needed.
	var ids []string
	if w.t.lean {
		ids = newIDs(ctx, 3)
	} else {
		ids = []string{newID(ctx)}
	}
	consent := activities.ConsentInput{ConsentID: ids[0], ExtensionID: id, Method: w.in.Method}
	if w.in.Method == models.ConsentPartnerAttestation && w.in.Attestation != nil {
		at := w.in.Attestation
		consent.SignerName, consent.SignerEmail, consent.ObtainedAt, consent.Evidence = at.SignerName, at.SignerEmail, at.ObtainedAt, at.Evidence
	} else {
		ended, err := w.askCustomer(ctx)
		if err != nil || ended {
			return w.status(), err
		}
		consent.ObtainedAt, consent.IP, consent.UserAgent = w.answerAt, w.answer.IP, w.answer.UserAgent
		consent.SignedIn = w.answer.SignedIn
	}

	w.t.setStep(ctx, "Recording the consent")
	if err := w.write(ctx, a.RecordConsent, consent).Get(ctx, &w.st.ConsentID); err != nil {
		return w.fail(ctx, err)
	}
	if err := w.t.record(ctx, activities.Progress{Status: models.ExtensionWaitingForConsent, Event: "consent_recorded", ConsentID: w.st.ConsentID,
		Details: map[string]string{"consent_id": w.st.ConsentID, "method": w.in.Method}, CloseLinks: true}); err != nil {
		return w.status(), err
	}

	w.t.setStep(ctx, "Sharing the bill-to snapshot with the provider")
	if !w.t.lean {
		ids = append(ids, newID(ctx))
	}
	if err := w.write(ctx, a.ShareBillTo, activities.ShareInput{
		ShareID: ids[1], ExtensionID: id, ConsentID: w.st.ConsentID,
	}).Get(ctx, nil); err != nil {
		return w.fail(ctx, err)
	}
	if err := w.t.record(ctx, activities.Progress{Status: models.ExtensionWaitingForConsent, Event: "bill_to_shared", Details: map[string]string{"provider_id": w.in.Provider.ID}}); err != nil {
		return w.status(), err
	}

	if w.in.Microsoft != nil {
		if ended, err := w.extendAtPartnerCenter(ctx); ended || err != nil {
			return w.status(), err
		}
	}

	w.t.setStep(ctx, "Creating the reseller relationship")
	if !w.t.lean {
		ids = append(ids, newID(ctx))
	}
	result, notified, err := w.relationship(ctx, RelationshipInput{
		RelationshipID: ids[2], Source: models.SourceExtension, SourceID: id, ConsentID: w.st.ConsentID,
		Reseller: w.in.Reseller, Provider: w.in.Provider, CustomerID: w.in.CustomerID, CustomerName: w.in.CustomerName,
	}, "Relationship for extension "+id, activities.Progress{Status: models.ExtensionCompleted, Event: "relationship_created"})
	if cause, ok := notRecorded(err); ok {
		return w.status(), cause
	} else if err != nil {
		return w.fail(ctx, err)
	}
	w.st.RelationshipID = result.RelationshipID
	w.t.setStep(ctx, "Completed: the relationship exists")
	w.logger.Info("Extension completed", "relationship_id", result.RelationshipID)
	if err := notified(ctx); err != nil {
		return w.status(), err
	}
	return w.status(), w.finish(ctx)
}

// write runs one of the extension's short, idempotent database steps (keyed
// by workflow-chosen ids): a local activity in the lean shape, no activity
// task round trip; an activity in older executions, as they recorded.
func (w *extension) write(ctx workflow.Context, activity any, arg any) workflow.Future {
	if w.t.lean {
		return workflow.ExecuteLocalActivity(withLocalWriteOptions(ctx), activity, arg)
	}
	return workflow.ExecuteActivity(withActivityOptions(ctx), activity, arg)
}

// askCustomer e-mails the consent link and waits. ended is true when the
// extension ended without consent (declined, cancelled, expired).
func (w *extension) askCustomer(ctx workflow.Context) (ended bool, err error) {
	id := w.in.ExtensionID
	w.t.setStep(ctx, "Sending the consent request to the customer")
	sent := w.t.reserve(ctx, "consent_requested", map[string]string{"to": w.in.CustomerEmail})
	if err := w.mail.send(ctx, withSentEvent(w.consentEmail(ExtensionWorkflowID(id)+":consent", false), sent), w.t.recordSent(sent)); err != nil {
		_, ferr := w.fail(ctx, err)
		return true, ferr
	}
	w.t.setStep(ctx, "Waiting for the customer's consent, until "+w.st.ExpiresAt.Format(time.RFC3339))
	expired, err := waitForAnswer(ctx, &w.wait, func() bool { return w.decision.name != "" }, never, nothing,
		func(n int) error {
			sent := w.t.reserve(ctx, "reminder_sent", map[string]string{"reminder": fmt.Sprint(n)})
			return w.mail.send(ctx, withSentEvent(w.consentEmail(fmt.Sprintf("%s:reminder:%d", ExtensionWorkflowID(id), n), true), sent), func(ctx workflow.Context) error {
				w.st.RemindersSent = n
				return w.t.recordSent(sent)(ctx)
			})
		})
	if err != nil {
		if isCancellation(err) {
			dctx, cancel := workflow.NewDisconnectedContext(ctx)
			defer cancel()
			if rerr := w.t.record(dctx, activities.Progress{Status: models.ExtensionCancelled, Event: "cancelled_by_operator", CloseLinks: true}); rerr != nil {
				w.logger.Error("Could not record the cancellation", "error", rerr)
			}
		}
		return true, err
	}
	// Answered or expired: a consent e-mail still being retried must not go out now.
	if err := w.mailSettled(ctx); err != nil {
		return true, err
	}
	recorded, err := w.decision.settled(ctx)
	if err != nil {
		return true, err
	}
	switch {
	case expired:
		w.t.setStep(ctx, "Expired without the customer's consent")
		err = w.t.record(ctx, activities.Progress{Status: models.ExtensionExpired, Event: "consent_expired", CloseLinks: true})
	case !recorded:
		err = w.recordDecision(ctx)
	}
	if !expired && w.decision.name == UpdateConsent {
		return false, err
	}
	if err != nil {
		return true, err
	}
	return true, w.finish(ctx)
}

// settleThenRecord records a decision once the e-mails it may answer have
// reported their delivery (see mailer.settle).
func (w *extension) settleThenRecord(ctx workflow.Context) error {
	if err := w.mail.settleAnswer(ctx, w.answer.EmailKey); err != nil {
		return err
	}
	return w.recordDecision(ctx)
}

// recordDecision writes the customer's or reseller's answer: from the update
// handler, or from run() in executions older than read-your-writes. Consent
// keeps the status (the extension goes on); the others end it.
func (w *extension) recordDecision(ctx workflow.Context) error {
	status, event, step := models.ExtensionWaitingForConsent, "consent_given", w.t.step
	switch w.decision.name {
	case UpdateDecline:
		status, event, step = models.ExtensionConsentDeclined, "consent_declined", "The customer declined"
	case UpdateCancel:
		status, event, step = models.ExtensionCancelled, "cancelled_by_partner", "Cancelled by the reseller"
	}
	w.t.setStep(ctx, step)
	p := activities.Progress{Status: status, Event: event, Details: answerDetails(w.answer), CloseLinks: true}
	if w.decision.inHandler {
		return w.t.decide(ctx, p)
	}
	return w.t.record(ctx, p)
}

func (w *extension) consentEmail(key string, reminder bool) activities.Email {
	return activities.Email{
		Key: key, To: w.in.CustomerEmail, Template: emails.ConsentRequest, Locale: w.in.Locale,
		Data: &emails.Data{Recipient: w.in.CustomerName, Reminder: reminder, Reseller: w.in.Reseller.Name, Provider: w.in.Provider.Name, ExpiresAt: w.st.ExpiresAt},
		Link: &activities.Link{Purpose: models.LinkPurposeConsent, SubjectID: w.in.ExtensionID, ExpiresAt: w.st.ExpiresAt},
	}
}

func (w *extension) fail(ctx workflow.Context, cause error) (ExtensionStatus, error) {
	details := map[string]string{}
	var app *temporal.ApplicationError
	if errors.As(cause, &app) && app.Type() != "" {
		details["code"] = app.Type()
	}
	return w.status(), w.failed(ctx, models.ExtensionFailed, cause, true, details)
}
