package workflows

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/models"
)

var lifecycleStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func lifecycleInput(days int, autoExtend bool, roles ...string) DelegatedAdminInput {
	if len(roles) == 0 {
		roles = []string{"Helpdesk Agent"}
	}
	return DelegatedAdminInput{
		DelegatedAdminID: "da-1", RelationshipID: "rel-1", CustomerID: "cust-1",
		Reseller: Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		Roles:    roles, AutoExtend: autoExtend,
		ActivatedAt: lifecycleStart, EndsAt: lifecycleStart.AddDate(0, 0, days),
	}
}

// lifecycleRun is one run of the workflow, up to its end or continue-as-new.
type lifecycleRun struct {
	env *testsuite.TestWorkflowEnvironment
	rec *recorder
}

// runLifecycle follows continue-as-new across fresh environments, with the
// clock carried over, until the lifecycle ends. each(i, env) may schedule
// callbacks in run i.
func runLifecycle(t *testing.T, in DelegatedAdminInput, each func(i int, env *testsuite.TestWorkflowEnvironment)) ([]lifecycleRun, DelegatedAdminStatus) {
	t.Helper()
	start := in.ActivatedAt
	var runs []lifecycleRun
	for i := 0; i < 10; i++ {
		env, rec := newTestEnvWithLifecycle(t)
		env.SetStartTime(start)
		if each != nil {
			each(i, env)
		}
		env.ExecuteWorkflow(DelegatedAdminWorkflow, in)
		runs = append(runs, lifecycleRun{env, rec})
		require.True(t, env.IsWorkflowCompleted())
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
			start = env.Now()
			continue
		}
		require.NoError(t, err)
		var st DelegatedAdminStatus
		require.NoError(t, env.GetWorkflowResult(&st))
		return runs, st
	}
	t.Fatal("the lifecycle never ended")
	return nil, DelegatedAdminStatus{}
}

func allEvents(runs []lifecycleRun) (events []string, emails map[string]time.Time) {
	emails = map[string]time.Time{}
	for _, r := range runs {
		events = append(events, r.rec.events()...)
		for k, at := range r.rec.emailedAt {
			emails[k] = at
		}
	}
	return events, emails
}

func TestLifecycleTwoYearsThreeNoticesThenExpiry(t *testing.T) {
	in := lifecycleInput(730, false)
	runs, st := runLifecycle(t, in, nil)

	require.Len(t, runs, 1, "no continue-as-new without an extension")
	require.Equal(t, models.DelegatedAdminExpired, st.Status)
	events, emails := allEvents(runs)
	require.Equal(t, []string{"delegated_admin_activated", "notice_sent", "notice_sent", "notice_sent", "delegated_admin_expired"}, events)
	end := in.EndsAt
	for _, d := range []int{30, 7, 1} {
		key := "delegated-admin:da-1:notice:" + end.Format("20060102") + ":" + fmt.Sprint(d)
		require.WithinDuration(t, end.AddDate(0, 0, -d), emails[key], time.Minute, "the %d-day notice", d)
	}
	require.WithinDuration(t, end, emails["delegated-admin:da-1:expired"], time.Minute)
	last := runs[0].rec.progress[len(runs[0].rec.progress)-1]
	require.Equal(t, models.DelegatedAdminExpired, last.Status)
	require.True(t, last.DelegatedAdmin.EndsAt.Equal(end))
}

func TestLifecycleAutoExtendsOnceThenExpires(t *testing.T) {
	in := lifecycleInput(30, true)
	var turnOff updateOutcome
	runs, st := runLifecycle(t, in, func(i int, env *testsuite.TestWorkflowEnvironment) {
		if i == 1 { // after the first extension, the partner turns auto-extend off
			env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateSetAutoExtend, &turnOff, false) }, 24*time.Hour)
		}
	})

	require.Len(t, runs, 2, "one continue-as-new, at the extension")
	require.NoError(t, turnOff.err)
	require.Equal(t, models.DelegatedAdminExpired, st.Status)
	require.Equal(t, 1, st.Extensions)
	require.True(t, st.EndsAt.Equal(in.EndsAt.Add(180*24*time.Hour)), "extended by 180 days: %s", st.EndsAt)
	events, emails := allEvents(runs)
	require.Contains(t, events, "auto_extended")
	require.Contains(t, events, "auto_extend_changed")
	require.Equal(t, "delegated_admin_expired", events[len(events)-1])
	require.WithinDuration(t, st.EndsAt, emails["delegated-admin:da-1:expired"], time.Minute)
	// Notices went out before each end date.
	require.Contains(t, emails, "delegated-admin:da-1:notice:"+in.EndsAt.Format("20060102")+":7")
	require.Contains(t, emails, "delegated-admin:da-1:notice:"+st.EndsAt.Format("20060102")+":30")
	// The timeline sequence carries across runs: no event overwrites another.
	var seqs []int
	for _, r := range runs {
		for _, p := range r.rec.progress {
			seqs = append(seqs, p.Seq)
		}
	}
	for i := 1; i < len(seqs); i++ {
		require.Equal(t, seqs[i-1]+1, seqs[i])
	}
}

func TestLifecycleGlobalAdministratorNeverAutoExtends(t *testing.T) {
	in := lifecycleInput(60, true, "Global Administrator", "Helpdesk Agent")
	var turnOn updateOutcome
	runs, st := runLifecycle(t, in, func(i int, env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateSetAutoExtend, &turnOn, true) }, 24*time.Hour)
	})
	require.Len(t, runs, 1)
	require.Error(t, turnOn.rejected, "auto-extend with Global Administrator is refused")
	require.Equal(t, models.DelegatedAdminExpired, st.Status)
	require.Zero(t, st.Extensions)
	require.False(t, st.AutoExtend)
}

func TestLifecycleTerminatedWhileWaiting(t *testing.T) {
	in := lifecycleInput(365, true)
	var terminate, again updateOutcome
	var queried DelegatedAdminStatus
	runs, st := runLifecycle(t, in, func(i int, env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryStatus)
			require.NoError(t, err)
			require.NoError(t, v.Get(&queried))
			sendUpdate(env, UpdateTerminate, &terminate, Answer{Reason: "customer offboarded"})
			sendUpdate(env, UpdateTerminate, &again, Answer{})
		}, 10*24*time.Hour)
	})
	require.Len(t, runs, 1)
	require.Equal(t, models.DelegatedAdminTerminated, st.Status)
	require.Error(t, again.rejected)
	require.NotNil(t, queried.NextNoticeAt, "the status query names the next notice")
	require.True(t, queried.NextNoticeAt.Equal(in.EndsAt.AddDate(0, 0, -30)))
	last := runs[0].rec.progress[len(runs[0].rec.progress)-1]
	require.Equal(t, "delegated_admin_terminated", last.Event)
	require.Equal(t, "customer offboarded", last.Details["reason"])
	require.WithinDuration(t, lifecycleStart.AddDate(0, 0, 10), runs[0].env.Now(), time.Minute, "no waiting after the termination")
}
