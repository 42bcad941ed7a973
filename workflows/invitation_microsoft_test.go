package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

const msCustomerTenant = "3f9c1a52-6a1e-4a4b-9b7e-5d2f1c0a9e11"

// microsoftInvitation is an invitation in live or simulated mode, and a
// Partner Center that lists the reseller on the customer from acceptedAt
// (the test clock's time) on.
func microsoftInvitation(t *testing.T, acceptedAt *time.Time) (*testsuite.TestWorkflowEnvironment, *recorder, InvitationInput, *[]time.Time) {
	env, rec := newTestEnv(t)
	in := invitationInput()
	in.Microsoft = &ResellerRelationshipRequest{AcceptURL: "https://admin.microsoft.com/Adminportal/Home?invType=IndirectResellerRelationship&partnerId=r&msppId=0&indirectCSPId=p#/BillingAccounts/partner-invitation",
		ResellerTenantID: "r-tenant", ProviderTenantID: "p-tenant"}
	var g *activities.GDAP
	env.OnActivity(g.CustomerTenantOfDomain, mock.Anything, "northwind.example").Return(func(context.Context, string) (string, error) {
		rec.mu.Lock()
		rec.calls["CustomerTenantOfDomain"]++
		rec.mu.Unlock()
		return msCustomerTenant, nil
	}).Maybe()
	var polls []time.Time
	env.OnActivity(g.ResellerRelationshipAccepted, mock.Anything, mock.Anything).Return(func(_ context.Context, c activities.ResellerRelationshipCheck) (bool, error) {
		require.Equal(t, activities.ResellerRelationshipCheck{ProviderID: "prov-1", CustomerTenantID: msCustomerTenant, ResellerTenantID: "r-tenant"}, c)
		polls = append(polls, env.Now())
		return acceptedAt != nil && !env.Now().Before(*acceptedAt), nil
	}).Maybe()
	return env, rec, in, &polls
}

func acceptOnOurPage(env *testsuite.TestWorkflowEnvironment, after time.Duration) *updateOutcome {
	var out updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &out, Answer{IP: "203.0.113.9"}) }, after)
	return &out
}

// A webhook wakes the wait at once; Partner Center confirms; the new
// customer carries the tenant the address's domain named.
func TestInvitationWaitsForTheAcceptanceAtMicrosoft(t *testing.T) {
	var acceptedAt time.Time
	env, rec, in, polls := microsoftInvitation(t, &acceptedAt)
	start := env.Now()
	accept := acceptOnOurPage(env, time.Hour)
	acceptedAt = start.Add(5 * time.Hour)
	env.RegisterDelayedCallback(func() {
		var st InvitationStatus
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(&st))
		require.Equal(t, models.InvitationWaitingForPartnerCenter, st.Status)
		require.Equal(t, in.Microsoft.AcceptURL, st.MicrosoftAcceptURL)
		env.SignalWorkflow(SignalResellerRelationshipAccepted, "0b2a6e33-0000-0000-0000-000000000000") // another customer: ignored
		env.SignalWorkflow(SignalResellerRelationshipAccepted, msCustomerTenant)
	}, 5*time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, in)

	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, accept.err)
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationCompleted, st.Status)
	require.Equal(t, msCustomerTenant, st.CustomerTenantID)
	require.Len(t, rec.customers, 1)
	require.Equal(t, msCustomerTenant, rec.customers[0].TenantID, "the new customer is the tenant that accepted")
	require.Equal(t, []string{models.InvitationAccepted, models.InvitationWaitingForPartnerCenter, models.InvitationAccepted, models.InvitationCompleted}, rec.statuses())
	require.Equal(t, []string{"invitation_created", "invitation_sent", "customer_accepted", models.EventResellerRelationshipRequested,
		models.EventAcceptedAtMicrosoft, "relationship_created"}, rec.events())
	require.Equal(t, msCustomerTenant, rec.progress[3].CustomerTenantID, "the row names the tenant, for the webhooks")
	require.Equal(t, in.Microsoft.AcceptURL, rec.progress[3].Details["accept_url"])
	// Polled at acceptance and on the backoff (2, then 4 minutes, …) until the webhook; then at once.
	require.GreaterOrEqual(t, len(*polls), 3)
	last := (*polls)[len(*polls)-1]
	require.WithinDuration(t, start.Add(5*time.Hour), last, time.Second, "the webhook made the confirming read, not the backoff")
}

// Without any webhook the backoff poll finds the acceptance; a reminder
// with Microsoft's link goes out on the invitation's schedule meanwhile.
func TestInvitationAcceptedAtMicrosoftFoundByPolling(t *testing.T) {
	var acceptedAt time.Time
	env, rec, in, polls := microsoftInvitation(t, &acceptedAt)
	start := env.Now()
	acceptOnOurPage(env, time.Hour)
	acceptedAt = start.Add(4 * day)

	env.ExecuteWorkflow(InvitationWorkflow, in)

	require.NoError(t, env.GetWorkflowError())
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationCompleted, st.Status)
	last := (*polls)[len(*polls)-1]
	require.False(t, last.Before(acceptedAt))
	require.True(t, last.Before(acceptedAt.Add(4*time.Hour+time.Minute)), "the poll interval is capped at 4 hours")
	require.Less(t, len(*polls), 40, "the backoff keeps Partner Center calls few")
	require.Contains(t, rec.emailKeys(), "invitation:inv-1:microsoft-reminder:1")
	for _, e := range rec.emails {
		if e.Key == "invitation:inv-1:microsoft-reminder:1" {
			require.Equal(t, in.Microsoft.AcceptURL, e.Link.URL, "the reminder carries Microsoft's link")
			require.Contains(t, e.Body, activities.LinkPlaceholder)
			require.WithinDuration(t, start.Add(time.Hour+3*day), rec.emailedAt[e.Key], time.Minute)
		}
	}
}

// Never accepted at Microsoft: the invitation expires after its own period,
// counted from the acceptance on our page; nothing is created.
func TestInvitationNotAcceptedAtMicrosoftExpires(t *testing.T) {
	env, rec, in, _ := microsoftInvitation(t, nil)
	start := env.Now()
	acceptOnOurPage(env, day)

	env.ExecuteWorkflow(InvitationWorkflow, in)

	require.NoError(t, env.GetWorkflowError())
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationExpired, st.Status)
	require.False(t, env.Now().Before(start.Add(31*day)))
	require.Equal(t, models.EventMicrosoftAcceptanceExpired, rec.events()[len(rec.events())-1])
	require.Zero(t, rec.calls["CreateResellerRelationship"])
	require.Equal(t, 2, countPrefix(rec.emailKeys(), "invitation:inv-1:microsoft-reminder:"))
}

// An address on a domain no tenant has: the invitation fails and says why.
func TestInvitationFailsWithoutACustomerTenant(t *testing.T) {
	env, rec := newTestEnv(t)
	in := invitationInput()
	in.Microsoft = &ResellerRelationshipRequest{AcceptURL: "https://admin.microsoft.com/x", ResellerTenantID: "r", ProviderTenantID: "p"}
	var g *activities.GDAP
	env.OnActivity(g.CustomerTenantOfDomain, mock.Anything, mock.Anything).Return("",
		temporal.NewNonRetryableApplicationError("no Microsoft Entra tenant has the domain northwind.example", activities.ErrTypeCustomerTenantNotFound, nil))
	acceptOnOurPage(env, time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, in)

	require.Error(t, env.GetWorkflowError())
	last := rec.progress[len(rec.progress)-1]
	require.Equal(t, models.InvitationFailed, last.Status)
	require.Contains(t, last.Details["reason"], "northwind.example")
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// The reseller may withdraw an invitation still waiting at Microsoft: the
// wait stops, the cancellation is recorded before the update answers, and
// nothing is created.
func TestInvitationWithdrawnWhileWaitingAtMicrosoft(t *testing.T) {
	env, rec, in, _ := microsoftInvitation(t, nil)
	acceptOnOurPage(env, time.Hour)
	var cancel updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateCancel, &cancel, Answer{Reason: "the customer chose another partner"}) }, 2*day)

	env.ExecuteWorkflow(InvitationWorkflow, in)

	require.NoError(t, env.GetWorkflowError())
	require.True(t, cancel.accepted, "a cancel is allowed while waiting at Microsoft: %v", cancel.rejected)
	require.NoError(t, cancel.err)
	require.Equal(t, models.InvitationCancelled, cancel.result)
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationCancelled, st.Status)
	last := rec.progress[len(rec.progress)-1]
	require.Equal(t, "cancelled_by_partner", last.Event)
	require.Equal(t, "the customer chose another partner", last.Details["reason"])
	require.Zero(t, rec.calls["CreateResellerRelationship"])
}

// The admin who signed in with Microsoft and accepted names the customer's
// tenant: no lookup by domain; the timeline keeps who it was.
func TestInvitationSignedInTenantIsTheCustomers(t *testing.T) {
	var acceptedAt time.Time
	env, rec, in, _ := microsoftInvitation(t, &acceptedAt)
	acceptedAt = env.Now().Add(time.Hour)
	var out updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateAccept, &out, Answer{IP: "203.0.113.9", SignedIn: &models.SignedInAccount{TenantID: msCustomerTenant, ObjectID: "oid-1", Name: "Ada Admin", UPN: "ada@northwind.example"}})
	}, time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, in)

	require.NoError(t, env.GetWorkflowError())
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationCompleted, st.Status)
	require.Zero(t, rec.calls["CustomerTenantOfDomain"])
	accepted := rec.progress[2]
	require.Equal(t, "customer_accepted", accepted.Event)
	require.Equal(t, map[string]string{"ip": "203.0.113.9", "signed_in_tenant_id": msCustomerTenant, "signed_in_object_id": "oid-1",
		"signed_in_name": "Ada Admin", "signed_in_upn": "ada@northwind.example"}, accepted.Details)
}
