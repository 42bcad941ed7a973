package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/models"
)

// gdapLifecycle is a lifecycle whose GDAP activities call the simulator;
// its records and e-mails are kept for the test.
type gdapLifecycle struct {
	mu       sync.Mutex
	progress []activities.Progress
	emails   []activities.Email
}

func (l *gdapLifecycle) statuses() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, p := range l.progress {
		if p.Status != "" && (len(out) == 0 || out[len(out)-1] != p.Status) {
			out = append(out, p.Status)
		}
	}
	return out
}

func (l *gdapLifecycle) event(name string) (activities.Progress, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.progress {
		if p.Event == name {
			return p, true
		}
	}
	return activities.Progress{}, false
}

func (l *gdapLifecycle) count(event string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, p := range l.progress {
		if p.Event == event {
			n++
		}
	}
	return n
}

func gdapLifecycleEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *simulator.Simulator, *gdapLifecycle, DelegatedAdminInput) {
	env, sim, partner := gdapEnv(t)
	env.RegisterWorkflow(DelegatedAdminWorkflow)
	l := &gdapLifecycle{}
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(func(_ context.Context, p activities.Progress) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.progress = append(l.progress, p)
		return nil
	}).Maybe()
	env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(func(_ context.Context, e activities.Email) (activities.EmailResult, error) {
		e, err := activities.RenderEmail(e)
		if err != nil {
			return activities.EmailResult{}, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.emails = append(l.emails, e)
		return activities.EmailResult{Status: models.OutboxSent}, nil
	}).Maybe()
	in := DelegatedAdminInput{
		DelegatedAdminID: "da-gdap-1", RelationshipID: "rel-1", CustomerID: "cust-1",
		Reseller: Party{ID: partner, Name: "Fabrikam", Email: "ops@fabrikam.example"},
		Roles:    []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}, ActivatedAt: lifecycleStart, EndsAt: lifecycleStart.AddDate(0, 0, 90),
		Microsoft: &DelegatedAdminMicrosoft{DisplayName: gdapDisplayName("Fabrikam", "da-gdap-1"), CustomerEmail: "admin@northwind.example",
			CustomerName: "Northwind", CustomerTenantID: "c0ffee00-0000-4000-8000-000000000001", Locale: "de", DurationDays: 90},
	}
	env.SetStartTime(lifecycleStart)
	return env, sim, l, in
}

// The customer approves at Microsoft after five days: one reminder went
// out, the webhook's signal to the lifecycle wakes the wait, and the grant
// is active from then for the duration Microsoft counts, with its Graph id.
func TestDelegatedAdminObtainedAtMicrosoft(t *testing.T) {
	env, sim, l, in := gdapLifecycleEnv(t)
	var approvedAt time.Time
	env.RegisterDelayedCallback(func() {
		rels := sim.Relationships(gdapTenant)
		require.Len(t, rels, 1)
		require.NoError(t, sim.Approve(rels[0].ID, "customer"))
		approvedAt = env.Now()
		env.SignalWorkflow(SignalGDAPChanged, nil)
	}, 5*24*time.Hour)
	var pending DelegatedAdminStatus
	var early updateOutcome
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(&pending))
		sendUpdate(env, UpdateTerminate, &early, Answer{Reason: "too soon"})
	}, 24*time.Hour)
	runToEnd(t, env, in)
	require.Equal(t, models.DelegatedAdminApprovalPending, pending.Status)
	require.ErrorContains(t, early.rejected, "waits for the customer's approval at Microsoft")

	rels := sim.Relationships(gdapTenant)
	require.Len(t, rels, 1, "created once")
	graphID := rels[0].ID
	require.Equal(t, in.Microsoft.DisplayName, rels[0].DisplayName)
	// The row starts approval_pending (RecordDelegatedAdmin); then active,
	// then (time skipped) expired at Microsoft's end date.
	require.Equal(t, []string{models.DelegatedAdminActive, models.DelegatedAdminExpired}, l.statuses())
	asked, ok := l.event(models.EventDelegatedAdminApprovalRequested)
	require.True(t, ok)
	require.Equal(t, graph.ApprovalLink(graphID), asked.Details["approval_link"])
	require.Equal(t, graphID, asked.DelegatedAdmin.GraphRelationshipID)
	activated, ok := l.event("delegated_admin_activated")
	require.True(t, ok)
	require.Equal(t, 1, l.count("delegated_admin_activated"), "activated once")
	require.Equal(t, models.DelegatedAdminActive, activated.Status)
	require.Equal(t, "1", activated.Details["access_assignments"])
	require.WithinDuration(t, approvedAt, activated.DelegatedAdmin.ActivatedAt, time.Hour, "active from the approval, not from the request")
	require.True(t, activated.DelegatedAdmin.EndsAt.After(approvedAt.AddDate(0, 0, 89)))

	// The link to Microsoft went to the customer in German, then one reminder (day 3).
	var approval []activities.Email
	for _, e := range l.emails {
		if e.Template == "delegated_admin_approval" {
			approval = append(approval, e)
		}
	}
	require.Len(t, approval, 2)
	require.Equal(t, "admin@northwind.example", approval[0].To)
	require.Equal(t, graph.ApprovalLink(graphID), approval[0].Link.URL)
	require.Contains(t, approval[0].Body, "{{link}}")
	require.Contains(t, approval[0].Subject, "Microsoft")
	require.Contains(t, approval[0].Body, "Guten Tag Northwind")
	require.True(t, approval[1].Data.Reminder)
}

// Never approved: Microsoft's 90 days pass, the customer was reminded, and
// the grant ends expired with its own event; nothing was ever active.
func TestDelegatedAdminApprovalNeverComes(t *testing.T) {
	env, _, l, in := gdapLifecycleEnv(t)
	runToEnd(t, env, in)
	require.Equal(t, []string{models.DelegatedAdminExpired}, l.statuses())
	ended, ok := l.event(models.EventDelegatedAdminApprovalExpired)
	require.True(t, ok)
	require.Equal(t, ErrTypeGDAPApprovalExpired, ended.Details["error_type"])
	require.Len(t, l.emails, 1+len(GDAPApprovalReminders))
	_, activated := l.event("delegated_admin_activated")
	require.False(t, activated)
}

// Microsoft refuses (here: the partner has no app registration for the
// tenant the simulator knows): the grant fails with the reason on the
// timeline, and the lifecycle ends instead of retrying for ever.
func TestDelegatedAdminRefusedAtMicrosoft(t *testing.T) {
	env, _, l, in := gdapLifecycleEnv(t)
	in.Reseller.ID = "p-without-connection"
	runToEnd(t, env, in)
	require.Equal(t, []string{models.DelegatedAdminFailed}, l.statuses())
	failed, ok := l.event(models.EventDelegatedAdminFailed)
	require.True(t, ok)
	require.Equal(t, activities.ErrTypeNoMicrosoftConnection, failed.Details["error_type"])
	require.Contains(t, failed.Details["reason"], "microsoft-connection")
	require.Empty(t, l.emails)
}

func TestGDAPDisplayNameFitsGraph(t *testing.T) {
	id := "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	require.Equal(t, "Fabrikam "+id, gdapDisplayName("Fabrikam", id))
	long := gdapDisplayName("Contoso Distribution and Services International", id)
	require.LessOrEqual(t, len([]rune(long)), 50)
	require.Contains(t, long, id)
}

// approveAfter approves the only relationship at Microsoft after d and
// signals the lifecycle, as the webhooks would.
func approveAfter(t *testing.T, env *testsuite.TestWorkflowEnvironment, sim *simulator.Simulator, d time.Duration) {
	env.RegisterDelayedCallback(func() {
		rels := sim.Relationships(gdapTenant)
		require.Len(t, rels, 1)
		require.NoError(t, sim.Approve(rels[0].ID, "customer"))
		env.SignalWorkflow(SignalGDAPChanged, nil)
	}, d)
}

// The customer ends the relationship at Microsoft: the webhook's signal
// makes the lifecycle read Graph, and ours ends with the reason.
func TestDelegatedAdminTerminatedAtMicrosoftEndsOurs(t *testing.T) {
	env, sim, l, in := gdapLifecycleEnv(t)
	approveAfter(t, env, sim, 24*time.Hour)
	env.RegisterDelayedCallback(func() {
		require.NoError(t, sim.Terminate(sim.Relationships(gdapTenant)[0].ID))
		env.SignalWorkflow(SignalGDAPChanged, nil)
	}, 10*24*time.Hour)
	start := env.Now()
	runToEnd(t, env, in)
	require.Equal(t, []string{models.DelegatedAdminActive, models.DelegatedAdminTerminated}, l.statuses())
	ended, ok := l.event(models.EventDelegatedAdminEndedAtMicrosoft)
	require.True(t, ok)
	require.Contains(t, ended.Details["graph_status"], "terminat", "the simulator moves it one step per read")
	require.Contains(t, ended.Details["reason"], "at Microsoft")
	require.Less(t, env.Now().Sub(start), 11*24*time.Hour, "woken by the signal, not at the end date")
}

// Without a signal, the lifecycle still notices: it reads Graph on a
// backoff from an hour to a day.
func TestDelegatedAdminEndedAtMicrosoftFoundByPolling(t *testing.T) {
	env, sim, l, in := gdapLifecycleEnv(t)
	approveAfter(t, env, sim, 24*time.Hour)
	env.RegisterDelayedCallback(func() { require.NoError(t, sim.Terminate(sim.Relationships(gdapTenant)[0].ID)) }, 10*24*time.Hour)
	start := env.Now()
	runToEnd(t, env, in)
	_, ok := l.event(models.EventDelegatedAdminEndedAtMicrosoft)
	require.True(t, ok)
	require.Less(t, env.Now().Sub(start), 12*24*time.Hour, "found within a day")
}

// The partner switches auto-extend off and then terminates here: Graph is
// PATCHed and asked to terminate, and our notices are unchanged.
func TestDelegatedAdminChangesGoToMicrosoft(t *testing.T) {
	env, sim, l, in := gdapLifecycleEnv(t)
	in.AutoExtend = true
	approveAfter(t, env, sim, 24*time.Hour)
	var off, term updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateSetAutoExtend, &off, false) }, 5*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		rels := sim.Relationships(gdapTenant)
		require.Equal(t, "PT0S", rels[0].AutoExtendDuration, "switched off at Microsoft")
		sendUpdate(env, UpdateTerminate, &term, Answer{Reason: "customer offboarded"})
	}, 6*24*time.Hour)
	runToEnd(t, env, in)
	require.NoError(t, off.err)
	require.NoError(t, term.err)
	require.Equal(t, models.DelegatedAdminTerminated, term.result)
	rels := sim.Relationships(gdapTenant)
	require.Equal(t, "terminationRequested", rels[0].Status)
	require.Equal(t, []string{models.DelegatedAdminActive, models.DelegatedAdminTerminated}, l.statuses())
	_, refused := l.event(models.EventDelegatedAdminTerminationRefusedAtMicrosoft)
	require.False(t, refused)
	_, changed := l.event("auto_extend_changed")
	require.True(t, changed)
}

// runToEnd runs the lifecycle until it ends without error.
func runToEnd(t *testing.T, env *testsuite.TestWorkflowEnvironment, in DelegatedAdminInput) {
	t.Helper()
	env.ExecuteWorkflow(DelegatedAdminWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
}
