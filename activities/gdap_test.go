package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

const (
	gdapPartnerTenant = "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11"
	gdapClientID      = "b0a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10"
	gdapSecret        = "the-client-secret"
	gdapGroup         = "3f2b6a1e-9c1d-4e8a-b7a5-0c9d8e7f6a5b"
	helpdeskID        = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
)

type gdapFixture struct {
	sim     *simulator.Simulator
	acts    *activities.GDAP
	env     *testsuite.TestActivityEnvironment
	partner string
}

func newGDAPFixture(t *testing.T) *gdapFixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t, storetest.Dialects[len(storetest.Dialects)-1])
	keys, err := secret.NewKeyring(secret.NewKey())
	require.NoError(t, err)
	now := time.Now().UTC()
	p := models.Partner{ID: "p-gdap", Name: "Fabrikam", Type: models.PartnerTypeReseller, ContactEmail: "ops@fabrikam.example",
		EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
	require.NoError(t, st.CreatePartner(ctx, &p))
	sealed, err := keys.Seal(gdapSecret, "microsoft-connection:"+p.ID)
	require.NoError(t, err)
	require.NoError(t, st.SaveMicrosoftConnection(ctx, &models.MicrosoftConnection{PartnerID: p.ID, TenantID: gdapPartnerTenant,
		ClientID: gdapClientID, SecretSealed: sealed, Status: models.MicrosoftConnected}))
	require.NoError(t, st.SaveDelegatedAdminAssignments(ctx, p.ID, []models.AccessAssignment{{SecurityGroupID: gdapGroup, RoleIDs: []string{helpdeskID}}}))

	sim := simulator.New()
	sim.RegisterApp(gdapPartnerTenant, gdapClientID, gdapSecret)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	acts := &activities.GDAP{Store: st, Secrets: keys, HTTPClient: srv.Client(),
		Microsoft: config.Microsoft{Mode: config.MicrosoftSimulated, GraphURL: srv.URL + simulator.GraphPrefix, LoginURL: srv.URL}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &gdapFixture{sim: sim, acts: acts, env: env, partner: p.ID}
}

func (f *gdapFixture) create(t *testing.T) activities.GDAPRelationship {
	t.Helper()
	v, err := f.env.ExecuteActivity(f.acts.CreateGDAPRelationship, activities.GDAPRelationshipInput{PartnerID: f.partner,
		DisplayName: "Fabrikam-Northwind-inv1", Roles: []string{"Helpdesk Administrator"}, DurationDays: 90, AutoExtend: true})
	require.NoError(t, err)
	var r activities.GDAPRelationship
	require.NoError(t, v.Get(&r))
	return r
}

// The whole path: create, lock, the customer approves, active, access assigned.
// A crash between create and lockForApproval (the activity retried from
// scratch) finds the relationship by its displayName: never a second one.
func TestGDAPActivitiesCreateOnceLockApproveAssign(t *testing.T) {
	f := newGDAPFixture(t)
	first := f.create(t)
	again := f.create(t) // the retry after a kill -9 before lockForApproval
	require.Equal(t, first.ID, again.ID)
	require.Len(t, f.sim.Relationships(gdapPartnerTenant), 1, "never a second relationship")
	require.Equal(t, graph.ApprovalLink(first.ID), first.ApprovalLink)
	require.Contains(t, first.ApprovalLink, "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/")

	ref := activities.GDAPRef{PartnerID: f.partner, RelationshipID: first.ID}
	for range 2 { // lock is idempotent too
		v, err := f.env.ExecuteActivity(f.acts.LockGDAPRelationship, ref)
		require.NoError(t, err)
		var r activities.GDAPRelationship
		require.NoError(t, v.Get(&r))
		require.Equal(t, graph.StatusApprovalPending, r.Status)
	}

	require.NoError(t, f.sim.Approve(first.ID, "customer-tenant"))
	v, err := f.env.ExecuteActivity(f.acts.AwaitGDAPActive, activities.AwaitGDAPActiveInput{GDAPRef: ref, Every: 10 * time.Millisecond})
	require.NoError(t, err)
	var active activities.GDAPRelationship
	require.NoError(t, v.Get(&active))
	require.Equal(t, graph.StatusActive, active.Status)
	require.NotEmpty(t, active.EndDateTime)

	for range 2 { // a retry finds the group assigned
		v, err = f.env.ExecuteActivity(f.acts.CreateGDAPAccessAssignments, activities.AwaitGDAPActiveInput{GDAPRef: ref, Every: 10 * time.Millisecond})
		require.NoError(t, err)
		var n int
		require.NoError(t, v.Get(&n))
		require.Equal(t, 1, n)
	}
	row, err := f.acts.Store.MicrosoftConnection(context.Background(), f.partner)
	require.NoError(t, err)
	require.NotNil(t, row.LastSuccessAt)
}

func TestGDAPActivityFaults(t *testing.T) {
	f := newGDAPFixture(t)

	// Token endpoint down: retryable, so Temporal retries it.
	f.sim.SetTokenEndpointDown(true)
	_, err := f.env.ExecuteActivity(f.acts.CreateGDAPRelationship, activities.GDAPRelationshipInput{PartnerID: f.partner,
		DisplayName: "x", Roles: []string{helpdeskID}, DurationDays: 30})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.False(t, appErr.NonRetryable())
	require.Equal(t, "Graph:token:temporarily_unavailable", appErr.Type())
	f.sim.SetTokenEndpointDown(false)

	// A 429 storm outlasting the client's attempts: retryable, with Graph's Retry-After as the next delay.
	f.sim.Inject(simulator.Fault{PathPrefix: simulator.GraphPrefix, Status: http.StatusTooManyRequests, RetryAfter: 1, Times: 3})
	_, err = f.env.ExecuteActivity(f.acts.CreateGDAPRelationship, activities.GDAPRelationshipInput{PartnerID: f.partner,
		DisplayName: "x", Roles: []string{helpdeskID}, DurationDays: 30})
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.False(t, appErr.NonRetryable())
	require.Equal(t, time.Second, appErr.NextRetryDelay())

	// A refusal is final and carries Graph's code; the connection shows it.
	_, err = f.env.ExecuteActivity(f.acts.CreateGDAPRelationship, activities.GDAPRelationshipInput{PartnerID: f.partner,
		DisplayName: "x", Roles: []string{"62e90394-69f5-4237-9190-012177145e11"}, DurationDays: 30})
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.True(t, appErr.NonRetryable())
	require.Equal(t, "Graph:BadRequest", appErr.Type())
	row, err := f.acts.Store.MicrosoftConnection(context.Background(), f.partner)
	require.NoError(t, err)
	require.Equal(t, models.MicrosoftFailing, row.Status)

	// Terminated at Microsoft while waiting: final, named.
	r := f.create(t)
	ref := activities.GDAPRef{PartnerID: f.partner, RelationshipID: r.ID}
	_, err = f.env.ExecuteActivity(f.acts.LockGDAPRelationship, ref)
	require.NoError(t, err)
	require.NoError(t, f.sim.Approve(r.ID, "c"))
	_, err = f.env.ExecuteActivity(f.acts.AwaitGDAPActive, activities.AwaitGDAPActiveInput{GDAPRef: ref, Every: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, f.sim.Terminate(r.ID))
	_, err = f.env.ExecuteActivity(f.acts.AwaitGDAPActive, activities.AwaitGDAPActiveInput{GDAPRef: ref, Every: time.Millisecond})
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, activities.ErrTypeRelationshipEnded, appErr.Type())
}

// An active relationship followed from our side: auto-extend switched by a
// PATCH with the ETag of the GET before it (a 412 reads again), then ended
// by one terminate request, however often the activity is retried.
func TestGDAPAutoExtendAndTerminate(t *testing.T) {
	f := newGDAPFixture(t)
	r := f.create(t)
	ref := activities.GDAPRef{PartnerID: f.partner, RelationshipID: r.ID}
	_, err := f.env.ExecuteActivity(f.acts.LockGDAPRelationship, ref)
	require.NoError(t, err)
	require.NoError(t, f.sim.Approve(r.ID, "c"))
	_, err = f.env.ExecuteActivity(f.acts.AwaitGDAPActive, activities.AwaitGDAPActiveInput{GDAPRef: ref, Every: time.Millisecond})
	require.NoError(t, err)

	// Someone changed the relationship between our GET and our PATCH.
	f.sim.Inject(simulator.Fault{Method: http.MethodPatch, PathPrefix: simulator.GraphPrefix, Status: http.StatusPreconditionFailed, Times: 1})
	_, err = f.env.ExecuteActivity(f.acts.SetGDAPAutoExtend, activities.GDAPAutoExtendInput{GDAPRef: ref, On: false})
	require.NoError(t, err)
	rels := f.sim.Relationships(gdapPartnerTenant)
	require.Len(t, rels, 1)
	require.Equal(t, graph.NoAutoExtend, rels[0].AutoExtendDuration)
	var patches []simulator.Call
	for _, c := range f.sim.Calls() {
		if c.Method == http.MethodPatch {
			patches = append(patches, c)
		}
	}
	require.Len(t, patches, 2)
	require.Equal(t, http.StatusPreconditionFailed, patches[0].Status)
	require.Equal(t, http.StatusOK, patches[1].Status)
	// Already so: no PATCH at all.
	_, err = f.env.ExecuteActivity(f.acts.SetGDAPAutoExtend, activities.GDAPAutoExtendInput{GDAPRef: ref, On: false})
	require.NoError(t, err)
	patchCount := 0
	for _, c := range f.sim.Calls() {
		if c.Method == http.MethodPatch {
			patchCount++
		}
	}
	require.Equal(t, 2, patchCount)

	for range 2 {
		v, err := f.env.ExecuteActivity(f.acts.TerminateGDAPRelationship, ref)
		require.NoError(t, err)
		var got activities.GDAPRelationship
		require.NoError(t, v.Get(&got))
		require.True(t, activities.GDAPEnded(got.Status), got.Status)
	}
	requests := 0
	for _, c := range f.sim.Calls() {
		if c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/requests") {
			requests++
		}
	}
	require.Equal(t, 2, requests, "lockForApproval and one terminate")
}
