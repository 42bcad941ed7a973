package simulator_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
)

const (
	partnerTenant = "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11"
	clientID      = "b0a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10"
	secret        = "s3cr3t-value"
	helpdesk      = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	globalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
)

func setup(t *testing.T, sec string) (*simulator.Simulator, *graph.Client, *bytes.Buffer) {
	t.Helper()
	sim := simulator.New()
	sim.RegisterApp(partnerTenant, clientID, secret)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	c := graph.New(context.Background(), graph.Config{
		GraphURL: srv.URL + simulator.GraphPrefix, LoginURL: srv.URL, TenantID: partnerTenant, ClientID: clientID, ClientSecret: sec,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), HTTPClient: srv.Client(), MaxWait: 2 * time.Second,
	})
	return sim, c, &logs
}

func newRelationship(name string, roleIDs ...string) graph.Relationship {
	return graph.Relationship{DisplayName: name, Duration: "P90D", AccessDetails: graph.Roles(roleIDs...), AutoExtendDuration: graph.NoAutoExtend}
}

func graphErr(t *testing.T, err error) *graph.Error {
	t.Helper()
	var ge *graph.Error
	require.True(t, errors.As(err, &ge), "want a *graph.Error, got %v", err)
	return ge
}

func TestTheGDAPJourney(t *testing.T) {
	ctx := context.Background()
	sim, c, logs := setup(t, secret)
	require.NoError(t, c.CheckCredentials(ctx))

	r, err := c.CreateRelationship(ctx, newRelationship("Fabrikam–Northwind 1", helpdesk))
	require.NoError(t, err)
	require.Equal(t, graph.StatusCreated, r.Status)
	require.NotEmpty(t, r.ETag)

	found, ok, err := c.FindRelationship(ctx, "Fabrikam–Northwind 1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, r.ID, found.ID)
	_, ok, err = c.FindRelationship(ctx, "someone else's")
	require.NoError(t, err)
	require.False(t, ok)

	_, err = c.CreateRequest(ctx, r.ID, graph.ActionLockForApproval)
	require.NoError(t, err)
	got, err := c.GetRelationship(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, graph.StatusApprovalPending, got.Status)

	// Access cannot be assigned before the customer approved.
	_, err = c.CreateAccessAssignment(ctx, r.ID, graph.AccessAssignment{AccessContainer: graph.AccessContainer{AccessContainerID: "g1", AccessContainerType: "securityGroup"}, AccessDetails: graph.Roles(helpdesk)})
	require.Equal(t, http.StatusBadRequest, graphErr(t, err).Status)

	require.NoError(t, sim.Approve(r.ID, "customer-tenant"))
	var seen []string
	for got.Status != graph.StatusActive {
		got, err = c.GetRelationship(ctx, r.ID)
		require.NoError(t, err)
		seen = append(seen, got.Status)
	}
	require.Equal(t, []string{graph.StatusActivating, graph.StatusActive}, seen)
	require.NotEmpty(t, got.EndDateTime)
	require.Equal(t, "customer-tenant", got.Customer.TenantID)

	a, err := c.CreateAccessAssignment(ctx, r.ID, graph.AccessAssignment{AccessContainer: graph.AccessContainer{AccessContainerID: "g1", AccessContainerType: "securityGroup"}, AccessDetails: graph.Roles(helpdesk)})
	require.NoError(t, err)
	require.Equal(t, graph.AssignmentPending, a.Status)
	a, err = c.GetAccessAssignment(ctx, r.ID, a.ID)
	require.NoError(t, err)
	require.Equal(t, graph.AssignmentActive, a.Status)
	list, err := c.ListAccessAssignments(ctx, r.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)

	// Auto-extend on, with the etag of the last read.
	patched, err := c.UpdateRelationship(ctx, r.ID, got.ETag, graph.RelationshipPatch{AutoExtendDuration: graph.AutoExtend180Days})
	require.NoError(t, err)
	require.Equal(t, graph.AutoExtend180Days, patched.AutoExtendDuration)

	_, err = c.CreateRequest(ctx, r.ID, graph.ActionTerminate)
	require.NoError(t, err)
	for got.Status != graph.StatusTerminated {
		got, err = c.GetRelationship(ctx, r.ID)
		require.NoError(t, err)
	}

	// Every call sent its own client-request-id, and the log has it; no token or secret is logged.
	ids := map[string]bool{}
	for _, call := range sim.Calls() {
		if strings.HasPrefix(call.Path, simulator.GraphPrefix) {
			require.NotEmpty(t, call.ClientRequestID, call.Path)
			require.False(t, ids[call.ClientRequestID], "client-request-id reused")
			ids[call.ClientRequestID] = true
			require.Contains(t, logs.String(), call.ClientRequestID)
		}
	}
	require.NotContains(t, logs.String(), secret)
	require.NotContains(t, logs.String(), "Bearer")
}

func TestTheTokenIsCachedUntilItExpires(t *testing.T) {
	ctx := context.Background()
	sim, c, _ := setup(t, secret)
	for range 5 {
		_, _, err := c.FindRelationship(ctx, "x")
		require.NoError(t, err)
	}
	tokens := 0
	for _, call := range sim.Calls() {
		if strings.HasSuffix(call.Path, "/token") {
			tokens++
		}
	}
	require.Equal(t, 1, tokens)
}

func TestAWrongSecretIsAFinalError(t *testing.T) {
	_, c, logs := setup(t, "wrong")
	err := c.CheckCredentials(context.Background())
	ge := graphErr(t, err)
	require.Equal(t, http.StatusUnauthorized, ge.Status)
	require.Equal(t, "token:invalid_client", ge.Code)
	require.False(t, ge.Retryable())

	_, err = c.GetRelationship(context.Background(), "x")
	ge = graphErr(t, err)
	require.Equal(t, "token:invalid_client", ge.Code)
	require.False(t, ge.Retryable())
	require.NotContains(t, logs.String(), "wrong")
}

func TestTokenEndpointDownIsRetryable(t *testing.T) {
	sim, c, _ := setup(t, secret)
	sim.SetTokenEndpointDown(true)
	ge := graphErr(t, c.CheckCredentials(context.Background()))
	require.True(t, ge.Retryable(), "%v", ge)
	_, err := c.GetRelationship(context.Background(), "x")
	require.True(t, graphErr(t, err).Retryable())

	sim.SetTokenEndpointDown(false)
	require.NoError(t, c.CheckCredentials(context.Background()))
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	ctx := context.Background()
	sim, c, _ := setup(t, secret)
	sim.Inject(simulator.Fault{PathPrefix: simulator.GraphPrefix, Status: http.StatusTooManyRequests, RetryAfter: 1, Times: 2})
	start := time.Now()
	_, _, err := c.FindRelationship(ctx, "x")
	require.NoError(t, err, "the third attempt passes")
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "waited Retry-After twice")

	// A storm outlasting the client's attempts is a retryable error with Graph's wait.
	sim.Inject(simulator.Fault{PathPrefix: simulator.GraphPrefix, Status: http.StatusTooManyRequests, RetryAfter: 1, Times: 100})
	_, _, err = c.FindRelationship(ctx, "x")
	ge := graphErr(t, err)
	require.Equal(t, http.StatusTooManyRequests, ge.Status)
	require.True(t, ge.Retryable())
	require.Equal(t, time.Second, ge.RetryAfter)

	// Retry-After beyond the client's budget is left to the caller at once.
	sim2, c2, _ := setup(t, secret)
	sim2.Inject(simulator.Fault{Method: http.MethodGet, PathPrefix: simulator.GraphPrefix, Status: http.StatusServiceUnavailable, RetryAfter: 120, Times: 1})
	start = time.Now()
	_, _, err = c2.FindRelationship(ctx, "x")
	ge = graphErr(t, err)
	require.Equal(t, 120*time.Second, ge.RetryAfter)
	require.Less(t, time.Since(start), time.Second)
}

func TestFinalGraphErrors(t *testing.T) {
	ctx := context.Background()
	_, c, _ := setup(t, secret)
	r, err := c.CreateRelationship(ctx, newRelationship("dup", helpdesk))
	require.NoError(t, err)

	_, err = c.CreateRelationship(ctx, newRelationship("dup", helpdesk))
	ge := graphErr(t, err)
	require.Equal(t, http.StatusConflict, ge.Status)
	require.Equal(t, "nameAlreadyExists", ge.Code)
	require.False(t, ge.Retryable())

	bad := newRelationship("ga", globalAdmin)
	bad.AutoExtendDuration = graph.AutoExtend180Days
	_, err = c.CreateRelationship(ctx, bad)
	require.Equal(t, http.StatusBadRequest, graphErr(t, err).Status)

	_, err = c.CreateRelationship(ctx, newRelationship(strings.Repeat("x", 51), helpdesk))
	require.Equal(t, http.StatusBadRequest, graphErr(t, err).Status)

	// A stale etag: someone changed the relationship since it was read.
	_, err = c.UpdateRelationship(ctx, r.ID, r.ETag, graph.RelationshipPatch{Duration: "P30D"})
	require.NoError(t, err)
	_, err = c.UpdateRelationship(ctx, r.ID, r.ETag, graph.RelationshipPatch{Duration: "P60D"})
	ge = graphErr(t, err)
	require.Equal(t, http.StatusPreconditionFailed, ge.Status)
	require.False(t, ge.Retryable())
	require.Contains(t, ge.Error(), ge.RequestID)
}

func TestExpiryFollowsTheClock(t *testing.T) {
	ctx := context.Background()
	sim, c, _ := setup(t, secret)
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	sim.Now = func() time.Time { return now }
	r, err := c.CreateRelationship(ctx, newRelationship("short", helpdesk))
	require.NoError(t, err)
	_, err = c.CreateRequest(ctx, r.ID, graph.ActionLockForApproval)
	require.NoError(t, err)
	require.NoError(t, sim.Approve(r.ID, "c"))
	for r.Status != graph.StatusActive {
		r, err = c.GetRelationship(ctx, r.ID)
		require.NoError(t, err)
	}
	now = now.Add(91 * 24 * time.Hour)
	for r.Status != graph.StatusExpired {
		r, err = c.GetRelationship(ctx, r.ID)
		require.NoError(t, err)
	}
}
