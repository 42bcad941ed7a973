package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/csp-onboarding/onboarding/app"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// workerProcess is `onboarding worker` as an OS process, killed with SIGKILL.
type workerProcess struct {
	t   *testing.T
	bin string
	env []string
	cmd *exec.Cmd
}

func (w *workerProcess) start() {
	w.t.Helper()
	w.cmd = exec.Command(w.bin, "worker")
	w.cmd.Env = w.env
	w.cmd.Stdout, w.cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(w.t, w.cmd.Start())
}

func (w *workerProcess) kill() {
	w.t.Helper()
	require.NoError(w.t, w.cmd.Process.Signal(syscall.SIGKILL))
	_ = w.cmd.Wait()
}

// TestBulkJobSurvivesKill9: an extension job whose worker process (a real
// `onboarding worker` OS process) is killed with SIGKILL three times while
// it starts rows: in the end every row's onboarding was started exactly
// once (one workflow execution per row in Temporal, one extension row
// each) and the job's totals add up. 1,000 rows keep it near a minute on
// two shared cores; BULK_KILL9_ROWS=2000 runs the size.
func TestBulkJobSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the onboarding binary and runs a 2,000-row job")
	}
	rows := 1000
	if n, err := strconv.Atoi(os.Getenv("BULK_KILL9_ROWS")); err == nil && n > 0 {
		rows = n
	}
	bin := filepath.Join(t.TempDir(), "onboarding")
	build := exec.Command("go", "build", "-o", bin, "./cmd/onboarding")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	st, dbURL := storetest.NewWithURL(t, migrations.Postgres)
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.TemporalAddress = temporalServer.FrontendAddress()
	cfg.TemporalTaskQueue = "e2e-bulk-kill9"
	cfg.AdminToken = adminToken
	cfg.RateLimits = config.RateLimits{}
	cfg.SecretKey = secret.NewKey()
	cfg.Bulk = config.Bulk{SendRate: 6000, MaxInFlight: 400, RowsPerRun: 200, PollEvery: time.Second}
	port := freePort(t)
	cfg.HTTPAddr, cfg.PublicBaseURL, cfg.MetricsAddr = "127.0.0.1:"+port, "http://127.0.0.1:"+port, "off"

	w := &workerProcess{t: t, bin: bin, env: append(os.Environ(),
		"DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+cfg.TemporalAddress, "TEMPORAL_TASK_QUEUE="+cfg.TemporalTaskQueue,
		"ONBOARDING_SECRET_KEY="+cfg.SecretKey, "ONBOARDING_METRICS_ADDR=off", "PUBLIC_BASE_URL="+cfg.PublicBaseURL,
		"LOG_LEVEL=error", "SMTP_URL=", "BULK_SEND_RATE=6000/m", "BULK_MAX_IN_FLIGHT=400", "BULK_ROWS_PER_RUN=200", "BULK_POLL_EVERY=1s",
		"WORKER_STOP_TIMEOUT=1s")}
	w.start()
	t.Cleanup(func() { w.kill() })

	a, err := app.Start(context.Background(), cfg, st, slog.New(slog.DiscardHandler), app.Roles{API: true})
	require.NoError(t, err)
	t.Cleanup(func() { a.Stop(context.Background()) })
	p := &product{t: t, base: cfg.PublicBaseURL, app: a, store: st, logs: &syncBuffer{}, config: cfg}

	provider, reseller, _ := p.directBillReseller("Killnine")
	ctx := context.Background()
	job := map[string]any{"kind": "relationship_extension", "provider_id": provider.id, "share_bill_to": true}
	list := make([]map[string]any, rows)
	now := time.Now().UTC()
	for i := range list {
		c := models.Customer{ID: fmt.Sprintf("k9-%05d", i), CompanyName: fmt.Sprint("Killnine ", i), ContactEmail: fmt.Sprintf("admin@k9-%d.example", i),
			AcquiredVia: models.AcquiredViaDirectBill, CreatedBy: reseller.id, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.CreateCustomer(ctx, &c, models.PartnerTypeReseller))
		list[i] = map[string]any{"customer_id": c.ID}
	}
	job["rows"] = list
	created := p.must(202, p.call("POST", "/v1/bulk-jobs", reseller.key, job))
	jobID := created.str("id")

	startedRows := func() int {
		c := bulkCounts(p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID, reseller.key, nil)))
		return rows - c[models.BulkRowPending]
	}
	began := time.Now()
	for kill := 1; kill <= 3; kill++ {
		target := kill * rows / 5
		for deadline := time.Now().Add(90 * time.Second); startedRows() < target; time.Sleep(200 * time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "rows started before kill %d", kill)
		}
		w.kill()
		t.Logf("kill -9 #%d with %d rows started (%s)", kill, startedRows(), time.Since(began).Round(time.Second))
		w.start()
	}
	// Every row started; a consent e-mail whose delivery was in flight at a
	// kill is sent again only after its activity's 2-minute timeout, so a
	// few rows may still show started.
	var counts map[string]int
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		counts = bulkCounts(p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID, reseller.key, nil)))
		if counts[models.BulkRowPending] == 0 && counts["sent"]+counts[models.BulkRowStarted] == rows && counts[models.BulkRowStarted] <= 20 {
			break
		}
	}
	t.Logf("every row started after %s: %v", time.Since(began).Round(time.Second), counts)
	require.Equal(t, rows, counts["sent"]+counts[models.BulkRowStarted], "totals consistent: %v", counts)
	require.LessOrEqual(t, counts[models.BulkRowStarted], 20, "only e-mails in flight at a kill wait for their retry")

	// Exactly once: one execution per row's workflow ID, and one extension per row.
	seen := map[string]int{}
	p.eventually("visibility holds every row's workflow", func() bool {
		res, err := a.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: fmt.Sprintf("BulkJobId = %q AND OnboardingKind = 'extension'", jobID)})
		return err == nil && res.Count >= int64(rows)
	})
	var token []byte
	for {
		res, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, NextPageToken: token,
			Query: fmt.Sprintf("BulkJobId = %q AND OnboardingKind = 'extension'", jobID)})
		require.NoError(t, err)
		for _, e := range res.Executions {
			seen[e.Execution.WorkflowId]++
		}
		if token = res.NextPageToken; len(token) == 0 {
			break
		}
	}
	require.Len(t, seen, rows)
	for id, n := range seen {
		require.Equal(t, 1, n, "workflow %s started %d times", id, n)
	}
	var extensions int64
	require.NoError(t, st.DB().Model(&models.RelationshipExtension{}).Where("reseller_id = ?", reseller.id).Count(&extensions).Error)
	require.EqualValues(t, rows, extensions)
}
