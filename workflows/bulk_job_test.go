package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

// bulkRows stands for the job's rows in the database: the activities of
// the job read and write it as the real ones do the tables, and the mocked
// row workflows move their row on.
type bulkRows struct {
	mu      sync.Mutex
	total   int
	status  map[int]string // row → pending, started, sent, completed, cancelled
	starts  map[string]int // workflow ID → child starts
	cancels []string
	job     string // the job's recorded status
}

func (r *bulkRows) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for i := 1; i <= r.total; i++ {
		out[r.status[i]]++
	}
	return out
}

func (r *bulkRows) set(row int, status string) {
	r.mu.Lock()
	r.status[row] = status
	r.mu.Unlock()
}

// newBulkEnv is a test environment whose activities work on rows.
func newBulkEnv(t *testing.T, rows *bulkRows) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BulkJobWorkflow)
	env.OnActivity(a.PrepareBulkRows, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PrepareBulkRowsInput) (activities.PreparedBulkRows, error) {
		rows.mu.Lock()
		defer rows.mu.Unlock()
		out := activities.PreparedBulkRows{NextRow: in.FromRow}
		for n := in.FromRow; n <= rows.total && len(out.Starts) < in.Limit; n++ {
			if rows.status[n] == models.BulkRowPending {
				rows.status[n] = models.BulkRowStarted
			}
			out.Starts = append(out.Starts, activities.BulkRowStart{RowNo: n, SubjectID: activities.BulkSubjectID("job-1", n), CustomerID: "c"})
			out.NextRow = n + 1
		}
		return out, nil
	}).Maybe()
	env.OnActivity(a.BulkJobProgress, mock.Anything, mock.Anything).Return(func(context.Context, string) (map[string]int, error) {
		return rows.counts(), nil
	}).Maybe()
	env.OnActivity(a.SetBulkJobStatus, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, _, status string) error {
		rows.mu.Lock()
		rows.job = status
		rows.mu.Unlock()
		return nil
	}).Maybe()
	env.OnActivity(a.SkipBulkRows, mock.Anything, mock.Anything).Return(func(context.Context, string) error {
		rows.mu.Lock()
		defer rows.mu.Unlock()
		for i := 1; i <= rows.total; i++ {
			if rows.status[i] == models.BulkRowPending {
				rows.status[i] = models.BulkRowSkipped
			}
		}
		return nil
	}).Maybe()
	env.OnActivity(a.WaitingBulkRows, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, _ string, after, limit int) ([]activities.BulkRowStart, error) {
		rows.mu.Lock()
		defer rows.mu.Unlock()
		var out []activities.BulkRowStart
		for i := after + 1; i <= rows.total && len(out) < limit; i++ {
			if rows.status[i] == "sent" {
				out = append(out, activities.BulkRowStart{RowNo: i, SubjectID: activities.BulkSubjectID("job-1", i)})
			}
		}
		return out, nil
	}).Maybe()
	env.OnWorkflow(ExtensionWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in ExtensionInput) (ExtensionStatus, error) {
		rows.mu.Lock()
		rows.starts[workflow.GetInfo(ctx).WorkflowExecution.ID]++
		rows.mu.Unlock()
		var n int
		for i := 1; i <= rows.total; i++ {
			if activities.BulkSubjectID("job-1", i) == in.ExtensionID {
				n = i
			}
		}
		rows.set(n, "sent") // the consent request went out
		return ExtensionStatus{}, nil
	}).Maybe()
	env.OnRequestCancelExternalWorkflow(mock.Anything, mock.Anything, mock.Anything).Return(func(_ string, id, _ string) error {
		rows.mu.Lock()
		rows.cancels = append(rows.cancels, id)
		rows.mu.Unlock()
		return nil
	}).Maybe()
	return env
}

func bulkInput(total int) BulkJobInput {
	return BulkJobInput{JobID: "job-1", Kind: models.BulkKindExtension, Reseller: Party{ID: "res-1", Name: "Fabrikam"}, Provider: Party{ID: "prov-1", Name: "Contoso"},
		ConsentMethod: models.ConsentCustomerConfirmation, ExpireAfter: 14 * day, Total: total,
		PerMinute: 600, MaxInFlight: 5, RowsPerRun: 10, PollEvery: time.Minute}
}

// runBulk runs a job through its continue-as-new runs; setup prepares
// each run's environment (delayed callbacks). It returns the last run's
// status and how many runs there were.
func runBulk(t *testing.T, rows *bulkRows, in BulkJobInput, setup func(env *testsuite.TestWorkflowEnvironment, run int)) (BulkJobStatus, int) {
	for run := 1; run < 50; run++ {
		env := newBulkEnv(t, rows)
		if setup != nil {
			setup(env, run)
		}
		env.ExecuteWorkflow(BulkJobWorkflow, in)
		require.True(t, env.IsWorkflowCompleted())
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
			continue
		}
		require.NoError(t, err)
		var st BulkJobStatus
		require.NoError(t, env.GetWorkflowResult(&st))
		return st, run
	}
	t.Fatal("the job never ended")
	return BulkJobStatus{}, 0
}

func newBulkRows(total int) *bulkRows {
	r := &bulkRows{total: total, status: map[int]string{}, starts: map[string]int{}}
	for i := 1; i <= total; i++ {
		r.status[i] = models.BulkRowPending
	}
	return r
}

// TestBulkJobStartsEveryRowOnceAcrossRunsAndCompletes: 25 rows, 10 a run:
// every row's onboarding starts once under its deterministic ID, the job
// continues as new, counts the outcomes until all ended, then completes.
func TestBulkJobStartsEveryRowOnceAcrossRunsAndCompletes(t *testing.T) {
	rows := newBulkRows(25)
	st, runs := runBulk(t, rows, bulkInput(25), func(env *testsuite.TestWorkflowEnvironment, run int) {
		env.RegisterDelayedCallback(func() { // the customers answer
			for i := 1; i <= rows.total; i++ {
				rows.set(i, models.ExtensionCompleted)
			}
		}, 10*day)
	})
	require.Equal(t, models.BulkJobCompleted, st.Status)
	require.GreaterOrEqual(t, runs, 3, "continued as new every 10 rows")
	require.Len(t, rows.starts, 25)
	for id, n := range rows.starts {
		require.Equal(t, 1, n, id)
	}
	require.Contains(t, rows.starts, "extension:job-1-r00025")
	require.Equal(t, models.BulkJobCompleted, rows.job)
	require.Equal(t, "25 / 25 sent · 25 consented · 0 failed", st.Progress)
}

// TestBulkJobPausesResumesAndCancelsWaitingRows: a paused job starts
// nothing; resumed it goes on; cancelled with cancel_waiting it skips the
// rows not started and withdraws those waiting for their customer.
func TestBulkJobPausesResumesAndCancelsWaitingRows(t *testing.T) {
	rows := newBulkRows(40)
	in := bulkInput(40)
	in.PerMinute, in.RowsPerRun = 60, 100 // one row a second
	var pause, resumeEarly, resume, cancel updateOutcome
	var startedAtPause, startedBeforeResume int
	st, _ := runBulk(t, rows, in, func(env *testsuite.TestWorkflowEnvironment, run int) {
		env.RegisterDelayedCallback(func() {
			sendUpdate(env, UpdateResume, &resumeEarly)
			sendUpdate(env, UpdatePause, &pause)
			startedAtPause = len(rows.starts)
		}, 5500*time.Millisecond)
		env.RegisterDelayedCallback(func() {
			startedBeforeResume = len(rows.starts)
			sendUpdate(env, UpdateResume, &resume)
		}, time.Hour)
		env.RegisterDelayedCallback(func() {
			sendUpdate(env, UpdateCancel, &cancel, BulkCancel{CancelWaiting: true})
		}, time.Hour+10500*time.Millisecond)
	})
	require.Error(t, resumeEarly.rejected, "a running job cannot be resumed")
	require.NoError(t, pause.rejected)
	require.NoError(t, pause.err)
	require.Equal(t, models.BulkJobPaused, pause.result)
	require.LessOrEqual(t, startedBeforeResume, startedAtPause+1, "nothing starts while paused")
	require.NoError(t, resume.err)
	require.NoError(t, cancel.err)
	require.Equal(t, models.BulkJobCancelled, st.Status)
	require.Equal(t, models.BulkJobCancelled, rows.job)
	started := len(rows.starts)
	require.Greater(t, started, startedBeforeResume)
	require.Less(t, started, 40)
	require.Len(t, rows.cancels, started, "every waiting row withdrawn")
	c := rows.counts()
	require.Equal(t, 40-started, c[models.BulkRowSkipped])
}
