package workflows

import (
	"cmp"
	"fmt"
	"strings"
	"time"

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
	// two minutes); it doubles to microsoftMaxPoll.
	FirstPoll time.Duration `json:",omitempty"`
}

// Partner Center polling while the customer has yet to accept at
// Microsoft: minutes, doubling to hours; a webhook wakes the wait at once.
const (
	microsoftFirstPoll = 2 * time.Minute
	microsoftMaxPoll   = 4 * time.Hour
)

// awaitAcceptanceAtMicrosoft waits until Partner Center lists the reseller
// on the customer: SignalResellerRelationshipAccepted (a verified Partner
// Center webhook) wakes it, a poll with backoff finds it otherwise, so a
// lost webhook loses nothing. The customer is reminded with Microsoft's
// link on the invitation's reminder schedule; the wait expires after the
// invitation's own expiry period.
func (w *invitation) awaitAcceptanceAtMicrosoft(ctx workflow.Context) (accepted bool, err error) {
	m := w.in.Microsoft
	var g *activities.GDAP
	actx := gdapActivityOptions(ctx, 0)
	if m.CustomerTenantID == "" {
		if err := workflow.ExecuteActivity(actx, g.CustomerTenantOfDomain, emailDomain(w.in.CustomerEmail)).Get(ctx, &m.CustomerTenantID); err != nil {
			return false, err
		}
	}
	m.CustomerTenantID = strings.ToLower(m.CustomerTenantID)
	w.st.CustomerTenantID, w.st.MicrosoftAcceptURL = m.CustomerTenantID, m.AcceptURL
	w.t.setStep(ctx, "Waiting for the customer's admin to accept the reseller relationship at Microsoft")
	if err := w.t.record(ctx, activities.Progress{Status: models.InvitationWaitingForPartnerCenter, Event: models.EventResellerRelationshipRequested,
		CustomerTenantID: m.CustomerTenantID, Details: map[string]string{"customer_tenant_id": m.CustomerTenantID, "accept_url": m.AcceptURL}}); err != nil {
		return false, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(models.InvitationWaitingForPartnerCenter)); err != nil {
		return false, err
	}

	signals := workflow.GetSignalChannel(ctx, SignalResellerRelationshipAccepted)
	check := activities.ResellerRelationshipCheck{ProviderID: w.in.Provider.ID, CustomerTenantID: m.CustomerTenantID, ResellerTenantID: m.ResellerTenantID}
	firstPoll := cmp.Or(m.FirstPoll, microsoftFirstPoll)
	start, poll, reminded := workflow.Now(ctx), firstPoll, 0
	for {
		if err := workflow.ExecuteActivity(actx, g.ResellerRelationshipAccepted, check).Get(ctx, &accepted); err != nil || accepted {
			return accepted, err
		}
		next, why := workflow.Now(ctx).Add(poll), "poll"
		if reminded < len(w.in.Reminders) && start.Add(w.in.Reminders[reminded]).Before(next) {
			next, why = start.Add(w.in.Reminders[reminded]), "remind"
		}
		if w.in.ExpireAfter > 0 && !start.Add(w.in.ExpireAfter).After(next) {
			next, why = start.Add(w.in.ExpireAfter), "expire"
		}
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, max(next.Sub(workflow.Now(ctx)), time.Second)), func(workflow.Future) {})
		sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
			var tenant string
			c.Receive(ctx, &tenant)
			why = "woken"
			if !strings.EqualFold(tenant, m.CustomerTenantID) {
				w.logger.Warn("Partner Center signal for another customer tenant ignored", "tenant", tenant)
				why = "ignored"
			}
		})
		sel.Select(ctx)
		cancel()
		switch why {
		case "woken":
			poll = firstPoll // read Partner Center now; it confirms
		case "expire":
			return false, nil
		case "remind":
			reminded++
			if err := w.remindAtMicrosoft(ctx, reminded); err != nil {
				return false, err
			}
		case "poll":
			poll = min(2*poll, microsoftMaxPoll)
		}
	}
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

// emailDomain is the domain of an address ("" when it has none).
func emailDomain(address string) string {
	_, domain, _ := strings.Cut(address, "@")
	return strings.ToLower(strings.TrimSpace(domain))
}
