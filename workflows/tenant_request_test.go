package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/models"
)

func tenantRequestInput() TenantRequestInput {
	return TenantRequestInput{
		RequestID:   "tr-1",
		Reseller:    Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		Provider:    Party{ID: "prov-1", Name: "Contoso", Email: "ops@contoso.example"},
		CompanyName: "Litware", Domain: "litware.example",
		Reminders: []time.Duration{2 * day}, ExpireAfter: 7 * day,
	}
}

func TestTenantRequestApproved(t *testing.T) {
	env, rec := newTestEnv(t)
	var approve updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateApprove, &approve, TenantApproval{TenantID: "tenant-guid"}) }, 3*day)
	env.ExecuteWorkflow(TenantRequestWorkflow, tenantRequestInput())

	var st TenantRequestStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.TenantRequestCompleted, st.Status)
	require.NotEmpty(t, st.CustomerID)
	require.NotEmpty(t, st.RelationshipID)
	require.Equal(t, []string{"CreateTenantCustomer", "CreateResellerRelationship", "AddCustomerToPartnerLists"}, rec.order)
	require.Equal(t, []string{"tenant-request:tr-1:ask", "tenant-request:tr-1:reminder:1"}, rec.emailKeys()[:2])
	last := rec.progress[len(rec.progress)-1]
	require.Equal(t, st.CustomerID, last.CustomerID)
	require.Equal(t, st.RelationshipID, last.RelationshipID)
	require.Contains(t, rec.events(), "tenant_created")
}

func TestTenantRequestRejectedWithReason(t *testing.T) {
	env, rec := newTestEnv(t)
	var reject, late updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateReject, &reject, Answer{Reason: "the domain is not verified"})
		sendUpdate(env, UpdateApprove, &late, TenantApproval{})
	}, time.Hour)
	env.ExecuteWorkflow(TenantRequestWorkflow, tenantRequestInput())

	var st TenantRequestStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.TenantRequestRejected, st.Status)
	require.Error(t, late.rejected)
	require.Zero(t, rec.calls["CreateTenantCustomer"])
	var found bool
	for _, p := range rec.progress {
		found = found || p.Details["reason"] == "the domain is not verified"
	}
	require.True(t, found, "the reason is on the timeline")
	require.Contains(t, rec.emails[len(rec.emails)-1].Body, "the domain is not verified")
}

func TestTenantRequestExpiresAfterItsWindow(t *testing.T) {
	env, rec := newTestEnv(t)
	start := env.Now()
	env.ExecuteWorkflow(TenantRequestWorkflow, tenantRequestInput())

	var st TenantRequestStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.TenantRequestExpired, st.Status)
	require.WithinDuration(t, start.Add(2*day), rec.emailedAt["tenant-request:tr-1:reminder:1"], time.Minute)
	require.False(t, env.Now().Before(start.Add(7*day)))
	require.Contains(t, rec.emailKeys(), "tenant-request:tr-1:expired")
}
