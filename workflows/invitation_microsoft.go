package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/models"
)

// ResellerRelationshipRequest is the customer's acceptance at Microsoft
// (MICROSOFT_MODE live or simulated, issue 14): after accepting on our page
// the customer's Global Administrator accepts the indirect reseller
// relationship in the Microsoft 365 admin center, and Partner Center then
// lists the reseller on the customer.
type ResellerRelationshipRequest struct {
	AcceptURL        string // partnercenter.ResellerRelationshipLink
	ResellerTenantID string
	ProviderTenantID string
	// CustomerTenantID is known for an existing customer; else it is found
	// from the domain of the customer's address once the customer accepted.
	CustomerTenantID string
	// FirstPoll is the first wait before Partner Center is read again (0:
	// two minutes); it doubles to partnerCenterMaxPoll.
	FirstPoll time.Duration `json:",omitempty"`
}

// awaitAcceptanceAtMicrosoft waits until Partner Center lists the reseller
// on the customer (awaitPartnerCenter): SignalResellerRelationshipAccepted
// (a verified Partner Center webhook) wakes it, a poll with backoff finds
// it otherwise, so a lost webhook loses nothing. The customer is reminded
// with Microsoft's link on the invitation's reminder schedule; the wait
// expires after the invitation's own expiry period.
func (w *invitation) awaitAcceptanceAtMicrosoft(ctx workflow.Context) (outcome string, err error) {
	m := w.in.Microsoft
	if m.CustomerTenantID, err = customerTenant(ctx, m.CustomerTenantID, w.answer.SignedIn, models.EmailDomain(w.in.CustomerEmail)); err != nil {
		return "", err
	}
	w.withdraw = workflow.NewBufferedChannel(ctx, 1)
	w.st.CustomerTenantID, w.st.MicrosoftAcceptURL = m.CustomerTenantID, m.AcceptURL
	w.t.setStep(ctx, "Waiting for the customer's admin to accept the reseller relationship at Microsoft")
	if err := w.t.record(ctx, activities.Progress{Status: models.InvitationWaitingForPartnerCenter, Event: models.EventResellerRelationshipRequested,
		CustomerTenantID: m.CustomerTenantID, Details: map[string]string{"customer_tenant_id": m.CustomerTenantID, "accept_url": m.AcceptURL}}); err != nil {
		return "", err
	}
	if err := w.t.upsertStatusAgain(ctx); err != nil {
		return "", err
	}

	return awaitPartnerCenter(ctx, partnerCenterWait{
		check:     activities.ResellerRelationshipCheck{ProviderID: w.in.Provider.ID, CustomerTenantID: m.CustomerTenantID, ResellerTenantID: m.ResellerTenantID},
		firstPoll: m.FirstPoll, reminders: w.in.Reminders, expireAfter: w.in.ExpireAfter,
		signals: workflow.GetSignalChannel(ctx, SignalResellerRelationshipAccepted),
		stop:    w.withdraw, remind: w.remindAtMicrosoft, logger: w.logger,
	})
}

// customerTenant is the customer's Entra tenant, in lower case: the one known
// (an existing customer's), else that of the administrator who signed in and
// answered, else the one that verified the contact's domain.
func customerTenant(ctx workflow.Context, known string, signedIn *models.SignedInAccount, domain string) (string, error) {
	if known == "" && signedIn != nil {
		known = signedIn.TenantID
	}
	if known == "" {
		var g *activities.GDAP
		if err := workflow.ExecuteActivity(gdapActivityOptions(ctx, 0), g.CustomerTenantOfDomain, domain).Get(ctx, &known); err != nil {
			return "", err
		}
	}
	return strings.ToLower(known), nil
}

// withdrawable lets the reseller cancel an invitation that waits for the
// acceptance at Microsoft: the wait stops, the cancellation is recorded by
// run(), and the update answers once it is (read-your-writes). Before that
// state it is the ordinary cancel (handler, validator).
func (w *invitation) withdrawable(handler func(workflow.Context, Answer) (string, error), validator func(workflow.Context, Answer) error) (
	func(workflow.Context, Answer) (string, error), func(workflow.Context, Answer) error) {
	waiting := func() bool { return w.t.status == models.InvitationWaitingForPartnerCenter }
	h := func(ctx workflow.Context, ans Answer) (string, error) {
		if !waiting() {
			return handler(ctx, ans)
		}
		w.answer, w.withdrawn = ans, true
		w.withdraw.Send(ctx, struct{}{})
		if err := workflow.Await(ctx, func() bool { return w.withdrawRecorded || !waiting() }); err != nil {
			return "", err
		}
		if !w.withdrawRecorded {
			return "", temporal.NewApplicationError("the customer accepted at Microsoft meanwhile (status "+w.t.status+")", ErrTypeAlreadyDecided)
		}
		return models.InvitationCancelled, nil
	}
	v := func(ctx workflow.Context, ans Answer) error {
		if waiting() && !w.withdrawn {
			return nil
		}
		return validator(ctx, ans)
	}
	return h, v
}

// recordWithdrawn ends an invitation the reseller cancelled while it waited
// for Microsoft.
func (w *invitation) recordWithdrawn(ctx workflow.Context) (InvitationStatus, error) {
	w.t.setStep(ctx, "Cancelled by the reseller")
	err := w.t.record(ctx, activities.Progress{Status: models.InvitationCancelled, Event: "cancelled_by_partner", Details: answerDetails(w.answer), CloseLinks: true})
	if err != nil {
		return w.status(), err
	}
	w.withdrawRecorded = true
	return w.status(), w.finish(ctx)
}

// remindAtMicrosoft e-mails the customer Microsoft's link again.
func (w *invitation) remindAtMicrosoft(ctx workflow.Context, n int) error {
	m := w.in.Microsoft
	d := &emails.Data{Recipient: w.in.CustomerCompany, Reminder: true, Reseller: w.in.Reseller.Name, Provider: w.in.Provider.Name,
		ExpiresAt: w.st.MicrosoftExpiresAt}
	// Microsoft's link goes where a personal link would: no token.
	e := activities.Email{Key: fmt.Sprintf("%s:microsoft-reminder:%d", InvitationWorkflowID(w.in.InvitationID), n), To: w.in.CustomerEmail,
		Template: emails.ResellerRelationshipAcceptance, Locale: w.in.Locale, Data: d,
		Link: &activities.Link{SubjectID: w.in.InvitationID, URL: m.AcceptURL}}
	sent := w.t.reserve(ctx, models.EventMicrosoftAcceptanceReminderSent, map[string]string{"reminder": fmt.Sprint(n), "to": w.in.CustomerEmail})
	return w.mail.sendNow(ctx, withSentEvent(e, sent))
}
