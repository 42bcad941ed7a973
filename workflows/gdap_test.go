package workflows

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

const gdapTenant = "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11"

// gdapEnv is a test workflow environment whose GDAP activities call the simulator.
func gdapEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *simulator.Simulator, string) {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t, storetest.Dialects[len(storetest.Dialects)-1])
	keys, err := secret.NewKeyring(secret.NewKey())
	require.NoError(t, err)
	now := time.Now().UTC()
	p := models.Partner{ID: "p-gdap-wf", Name: "Fabrikam", Type: models.PartnerTypeReseller, ContactEmail: "ops@fabrikam.example",
		EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
	require.NoError(t, st.CreatePartner(ctx, &p))
	sealed, err := keys.Seal("s3cret", "microsoft-connection:"+p.ID)
	require.NoError(t, err)
	require.NoError(t, st.SaveMicrosoftConnection(ctx, &models.MicrosoftConnection{PartnerID: p.ID, TenantID: gdapTenant, ClientID: "app", SecretSealed: sealed, Status: models.MicrosoftConnected}))
	require.NoError(t, st.SaveDelegatedAdminAssignments(ctx, p.ID, []models.AccessAssignment{{SecurityGroupID: "3f2b6a1e-9c1d-4e8a-b7a5-0c9d8e7f6a5b", RoleIDs: []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}}}))
	sim := simulator.New()
	sim.RegisterApp(gdapTenant, "app", "s3cret")
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(GDAPWorkflow)
	env.RegisterActivity(&activities.GDAP{Store: st, Secrets: keys, HTTPClient: srv.Client(),
		Microsoft: config.Microsoft{Mode: config.MicrosoftSimulated, GraphURL: srv.URL + simulator.GraphPrefix, LoginURL: srv.URL}})
	return env, sim, p.ID
}

func gdapInput(partnerID string) GDAPInput {
	return GDAPInput{GDAPRelationshipInput: activities.GDAPRelationshipInput{PartnerID: partnerID, DisplayName: "Fabrikam-Northwind-1",
		Roles: []string{"Helpdesk Administrator"}, DurationDays: 90}}
}

func TestGDAPWorkflowApprovedThenAssigned(t *testing.T) {
	env, sim, partner := gdapEnv(t)
	approve := func() {
		rels := sim.Relationships(gdapTenant)
		require.Len(t, rels, 1)
		require.NoError(t, sim.Approve(rels[0].ID, "customer"))
	}
	// The customer approves after three days; the webhook work's signal wakes the wait at once.
	env.RegisterDelayedCallback(func() { approve(); env.SignalWorkflow(SignalGDAPChanged, nil) }, 3*24*time.Hour)
	env.ExecuteWorkflow(GDAPWorkflow, gdapInput(partner))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res GDAPResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "active", res.Status)
	require.Equal(t, 1, res.Assignments)
	require.Contains(t, res.ApprovalLink, res.RelationshipID)
	require.Len(t, sim.Relationships(gdapTenant), 1)
}

func TestGDAPWorkflowApprovalNeverComes(t *testing.T) {
	env, sim, partner := gdapEnv(t)
	start := env.Now()
	env.ExecuteWorkflow(GDAPWorkflow, gdapInput(partner))
	require.True(t, env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr), "%v", env.GetWorkflowError())
	require.Equal(t, ErrTypeGDAPApprovalExpired, appErr.Type())
	require.GreaterOrEqual(t, env.Now().Sub(start), GDAPApprovalExpiry)
	require.Less(t, env.Now().Sub(start), GDAPApprovalExpiry+time.Hour)
	// Polling stayed in minutes-to-hours: a few hundred reads over 90 days, not millions.
	require.Less(t, len(sim.Calls()), 1500)
}
