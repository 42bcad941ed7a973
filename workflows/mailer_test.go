package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

// relayDown fails every attempt as a relay that refuses connections would.
func relayDown(activities.Email) (activities.EmailResult, error) {
	return activities.EmailResult{}, errors.New("deliver e-mail: dial tcp 10.0.0.25:587: connect: connection refused")
}

func (r *recorder) eventsWithDetails(event string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, p := range r.progress {
		if p.Event == event {
			out = append(out, p.Details)
		}
	}
	return out
}

func TestInvitationExpiresOnTimeWhileTheRelayIsDown(t *testing.T) {
	env, rec := newTestEnv(t)
	rec.send = relayDown
	var start time.Time
	var mid InvitationStatus
	env.RegisterDelayedCallback(func() { start = env.Now() }, 0)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	}, 2*day)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationExpired, st.Status, "the expiry does not wait for the e-mail")
	require.WithinDuration(t, start.Add(30*day), env.Now(), time.Minute, "it expires on time")
	require.Equal(t, models.InvitationWaitingForCustomer, mid.Status)
	require.NotNil(t, mid.EmailDelivery)
	require.Equal(t, DeliveryFailed, mid.EmailDelivery.State, "the status shows the failed e-mail")
	require.Equal(t, "gave_up", mid.EmailDelivery.Reason)

	failed := rec.eventsWithDetails("email_failed")
	require.Len(t, failed, 3, "the invitation and both reminders gave up after MAIL_GIVE_UP")
	require.Equal(t, "invitation:inv-1:initial", failed[0]["email"])
	require.Equal(t, "gave_up", failed[0]["reason"])
	require.Contains(t, failed[0]["message"], "connection refused")
	require.Equal(t, 3, rec.calls["GiveUpEmail"])
	require.NotContains(t, rec.events(), "invitation_sent")
	require.Equal(t, "invitation_expired", rec.events()[len(rec.events())-1])
	// The waiting status was written by the API with the row; the workflow
	// only ever writes a change (read-your-writes), and email_failed is none.
	require.Equal(t, []string{models.InvitationExpired}, rec.statuses(), "email_failed changes no status")
}

func TestInvitationCancelledWhileTheRelayIsDown(t *testing.T) {
	env, rec := newTestEnv(t)
	rec.send = relayDown
	var start time.Time
	var cancel updateOutcome
	env.RegisterDelayedCallback(func() { start = env.Now() }, 0)
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateCancel, &cancel, Answer{Reason: "wrong customer"}) }, time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, cancel.err)
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationCancelled, st.Status)
	require.WithinDuration(t, start.Add(time.Hour), env.Now(), time.Minute, "cancelled at once, not after the send gives up")
	require.Equal(t, "cancelled_by_partner", rec.events()[len(rec.events())-1])
	require.NotContains(t, rec.events(), "email_failed", "the cancelled invitation's e-mail is dropped, not failed")
}

func TestInvitationDeliveredOnceWhenTheRelayComesBack(t *testing.T) {
	env, rec := newTestEnv(t)
	var start time.Time
	env.RegisterDelayedCallback(func() { start = env.Now() }, 0)
	attempts := 0
	rec.send = func(e activities.Email) (activities.EmailResult, error) {
		attempts++
		if env.Now().Before(start.Add(2 * time.Hour)) {
			return relayDown(e)
		}
		return activities.EmailResult{Status: models.OutboxSent}, nil
	}
	var accept updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &accept, Answer{}) }, day)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	require.Greater(t, attempts, 3, "the send was retried while the relay was down")
	var initial int
	for _, k := range rec.emailKeys() {
		if k == "invitation:inv-1:initial" {
			initial++
		}
	}
	require.Equal(t, 1, initial, "delivered once")
	require.WithinDuration(t, start.Add(2*time.Hour), rec.emailedAt["invitation:inv-1:initial"], 11*time.Minute, "within one backoff of the relay's return")
	require.Equal(t, []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}, rec.events())
}

func TestRefusedAddressFixedThenResent(t *testing.T) {
	env, rec := newTestEnv(t)
	rec.send = func(e activities.Email) (activities.EmailResult, error) {
		if e.To == "admin@northwind.example" {
			return activities.EmailResult{}, temporal.NewNonRetryableApplicationError("e-mail not deliverable (recipient_refused): 550 5.1.1 no such user",
				activities.ErrTypeEmailRejected, nil, activities.EmailFailure{Reason: "recipient_refused", Code: 550, Message: "550 5.1.1 no such user"})
		}
		return activities.EmailResult{Status: models.OutboxSent}, nil
	}
	var failedStatus, fixedStatus InvitationStatus
	var change, resend, badChange updateOutcome
	query := func(into *InvitationStatus) {
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(into))
	}
	env.RegisterDelayedCallback(func() { query(&failedStatus) }, time.Hour)
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateChangeEmail, &badChange, EmailChange{Email: "not-an-address"})
		sendUpdate(env, UpdateChangeEmail, &change, EmailChange{Email: "it@northwind.example"})
		sendUpdate(env, UpdateResend, &resend)
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() { query(&fixedStatus) }, 3*time.Hour)
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateCancel, &updateOutcome{}, Answer{}) }, 4*time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, models.InvitationWaitingForCustomer, failedStatus.Status, "a refused e-mail leaves the invitation waiting")
	require.Equal(t, &EmailDelivery{State: DeliveryFailed, To: "admin@northwind.example", Reason: "recipient_refused", Message: "550 5.1.1 no such user"}, failedStatus.EmailDelivery)
	require.Zero(t, rec.calls["GiveUpEmail"], "a refusal is final at once")
	failed := rec.eventsWithDetails("email_failed")
	require.Len(t, failed, 1)
	require.Equal(t, "recipient_refused", failed[0]["reason"])

	require.Error(t, badChange.rejected)
	require.NoError(t, change.err)
	require.Equal(t, "it@northwind.example", fixedStatus.CustomerEmail)
	require.Equal(t, DeliverySent, fixedStatus.EmailDelivery.State)
	require.Equal(t, "it@northwind.example", fixedStatus.EmailDelivery.To)
	require.Equal(t, []string{"invitation:inv-1:resend:1"}, rec.emailKeys(), "only the resend to the fixed address went out")
	require.Equal(t, "it@northwind.example", rec.emails[0].To)
	require.Contains(t, rec.events(), "customer_email_changed")
	require.Contains(t, rec.events(), "invitation_resent")
}

func TestConsentRequestExpiresOnTimeWhileTheRelayIsDown(t *testing.T) {
	env, rec := newTestEnv(t)
	rec.send = relayDown
	var start time.Time
	env.RegisterDelayedCallback(func() { start = env.Now() }, 0)

	env.ExecuteWorkflow(ExtensionWorkflow, extensionInput())

	require.NoError(t, env.GetWorkflowError())
	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionExpired, st.Status)
	require.WithinDuration(t, start.Add(14*day), env.Now(), time.Minute)
	require.Len(t, rec.eventsWithDetails("email_failed"), 3, "the consent request and both reminders")
	require.Zero(t, rec.calls["RecordConsent"], "no consent without an answer")
}

func TestPartnerNoticeFailureDoesNotFailTheProcess(t *testing.T) {
	env, rec := newTestEnv(t)
	rec.send = func(e activities.Email) (activities.EmailResult, error) {
		if e.To == "sales@fabrikam.example" {
			return activities.EmailResult{}, temporal.NewNonRetryableApplicationError("e-mail not deliverable (auth_failed): 535 bad credentials",
				activities.ErrTypeEmailRejected, nil, activities.EmailFailure{Reason: "auth_failed", Code: 535, Message: "535 bad credentials"})
		}
		return activities.EmailResult{Status: models.OutboxSent}, nil
	}
	var accept updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &accept) }, day)

	env.ExecuteWorkflow(PartnershipWorkflow, PartnershipInput{PartnershipID: "ps-1",
		Provider:  Party{ID: "prov-1", Name: "Contoso", Email: "ops@contoso.example"},
		Reseller:  Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		Reminders: []time.Duration{3 * day}, ExpireAfter: 14 * day})

	require.NoError(t, env.GetWorkflowError())
	var st PartnershipStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.PartnershipActive, st.Status, "the reseller accepted through the API although its e-mail was refused")
	failed := rec.eventsWithDetails("email_failed")
	require.Len(t, failed, 1)
	require.Equal(t, "auth_failed", failed[0]["reason"])
	require.Equal(t, []string{"partnership:ps-1:accepted"}, rec.emailKeys(), "the provider's notice still went out")
}

// The customer answers through the link of an e-mail whose delivery never
// reported (its worker was killed after the relay accepted it): the answer
// proves the e-mail arrived, so its reserved "sent" is on the timeline, before
// the answer. Without the e-mail's key in the answer, nothing proves it.
func TestAnswerThroughTheLinkProvesTheEMailArrived(t *testing.T) {
	for _, proved := range []bool{true, false} {
		env, rec := newTestEnv(t)
		rec.send = func(e activities.Email) (activities.EmailResult, error) {
			if e.Key == "invitation:inv-1:initial" {
				return activities.EmailResult{}, errors.New("activity StartToClose timeout: its worker was killed")
			}
			return activities.EmailResult{}, nil
		}
		answer := Answer{IP: "203.0.113.9"}
		if proved {
			answer.EmailKey = "invitation:inv-1:initial"
		}
		var accept updateOutcome
		env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &accept, answer) }, 5*time.Minute)

		env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

		require.NoError(t, env.GetWorkflowError())
		require.NoError(t, accept.err)
		if !proved {
			require.Equal(t, []string{"invitation_created", "customer_accepted", "relationship_created"}, rec.events())
			continue
		}
		require.Equal(t, []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}, rec.events())
		sent := rec.eventsWithDetails("invitation_sent")
		require.Equal(t, "answer", sent[0]["confirmed_by"])
		seqs := map[string]int{}
		for _, p := range rec.progress {
			seqs[p.Event] = p.Seq
		}
		require.Less(t, seqs["invitation_sent"], seqs["customer_accepted"], "the e-mail comes before the answer on the timeline")
	}
}
