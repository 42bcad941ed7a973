// Command bench measures the product on the embedded default: the real HTTP
// API, in-process Temporal (SQLite file), the app database from DATABASE_URL
// or SQLite, and an SMTP server inside the benchmark. Loopback only, bounded
// in count and time. It writes Markdown, JSON and an SVG chart to
// bench/results/.
//
//	go run ./bench                 # end-to-end vs engine floor, 200 invitations at 20 concurrent customers
//	go run ./bench -pending 20000  # also leave 20,000 invitations waiting and report RSS and database size
//	go run ./bench -cluster        # then the same load on the production topology (cluster/): a Temporal
//	                               # server process on Postgres, 2 api + 2 worker processes; both in one report
//	go run ./bench -cluster -crash # …and kill -9 a worker and an api during it, then check nothing was lost or doubled
//
// After the invitations it drives -n-other relationship extensions (consent
// by e-mail) and tenant requests (approved by the provider) the same way, so
// that the report gives every onboarding kind's engine cost and rates.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/csp-onboarding/onboarding/app"
	"github.com/csp-onboarding/onboarding/bench/historycount"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/devserver"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/workflows"
)

type options struct {
	cluster, crash          bool
	n, concurrency, pending int
	rate                    float64 // invitations started a second; 0: each customer goes on at once
	nOther                  int     // extensions and tenant requests each
	webhooks                int
	bulk, bulkRate          int
	out, cpuProfile         string
	timeout                 time.Duration
}

// Report is what one run measured.
type Report struct {
	Machine           string    `json:"machine"`
	StartedAt         time.Time `json:"started_at"`
	Database          string    `json:"database"`
	Invitations       int       `json:"invitations"`
	Concurrency       int       `json:"concurrency"`
	Rate              float64   `json:"rate_per_second,omitempty"` // -rate: invitations started a second (open loop)
	EndToEndPerSecond float64   `json:"end_to_end_per_second"`
	FloorPerSecond    float64   `json:"engine_floor_per_second"` // mean of before and after
	FloorBefore       float64   `json:"engine_floor_before_per_second"`
	FloorAfter        float64   `json:"engine_floor_after_per_second"`
	RatioToFloor      float64   `json:"ratio_to_floor"`
	// The minimal-shape floor (bench/floor.go) and ours over it.
	MinimalFloorPerSecond      float64 `json:"minimal_floor_per_second"`
	MinimalLocalFloorPerSecond float64 `json:"minimal_floor_local_activities_per_second"`
	RatioToMinimal             float64 `json:"ratio_to_minimal_floor"`
	// Cost is the engine work of one execution, read from the run's
	// histories, per shape: "invitation" (child included) and each floor.
	Cost       map[string]historycount.MeanCounts `json:"cost_per_onboarding"`
	Latency    map[string]Latency                 `json:"latency_ms"`
	Errors     int64                              `json:"errors"`
	PeakRSSMiB float64                            `json:"peak_rss_mib"`
	CPUSeconds float64                            `json:"cpu_seconds"`
	Pending    *PendingReport                     `json:"pending,omitempty"`
	Cluster    *ClusterReport                     `json:"cluster,omitempty"`
	Webhooks   *WebhookReport                     `json:"webhooks,omitempty"`
	// SlowestInvitation is where the slowest invitation of the run waited:
	// its history's gaps (bench/history.go historyGaps).
	SlowestInvitation string `json:"slowest_invitation,omitempty"`
	SlowestAccept     string `json:"slowest_accept,omitempty"`
	// The other onboarding kinds, driven end to end after the invitations
	// (bench/others.go); their latencies are in Latency under
	// extension_* and tenant_request_*, their cost in Cost.
	Extensions     *KindReport `json:"extensions,omitempty"`
	TenantRequests *KindReport `json:"tenant_requests,omitempty"`
}

// KindReport is the end-to-end run of one onboarding kind besides the invitation.
type KindReport struct {
	Driven      int     `json:"driven"`
	Completed   int     `json:"completed"`
	Errors      int64   `json:"errors"`
	Concurrency int     `json:"concurrency"`
	PerSecond   float64 `json:"end_to_end_per_second"`
}

// ClusterReport is the same end-to-end load on the production topology.
type ClusterReport struct {
	Topology          string             `json:"topology"`
	EndToEndPerSecond float64            `json:"end_to_end_per_second"`
	RatioToEmbedded   float64            `json:"ratio_to_embedded"`
	Latency           map[string]Latency `json:"latency_ms"`
	Errors            int64              `json:"errors"`
	// Crash is what -crash found: the load went through a kill -9 of a
	// worker and an api process (bench/crash.go).
	Crash *CrashReport `json:"crash,omitempty"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50, P95, P99 float64
	Count         int
}

// PendingReport is the cost of invitations left waiting.
type PendingReport struct {
	Invitations     int     `json:"invitations"`
	StartSeconds    float64 `json:"start_seconds"`
	RSSMiB          float64 `json:"rss_mib"`
	AppDatabaseMiB  float64 `json:"app_database_mib"`
	TemporalDataMiB float64 `json:"temporal_database_mib"`
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 200, "invitations driven end to end (and floor workflows)")
	flag.IntVar(&o.concurrency, "c", 20, "concurrent customers")
	flag.Float64Var(&o.rate, "rate", 0, "start the invitations at this rate a second (open loop, at most -c at once) instead of each customer going on as soon as its last one ended: latencies below saturation rather than where the queue forms at it")
	flag.IntVar(&o.nOther, "n-other", -1, "relationship extensions and tenant requests driven end to end after the invitations, each (default min(n, 40); 0 skips them)")
	flag.IntVar(&o.pending, "pending", 0, "then start this many invitations and leave them waiting (20000 is the reference; 100000 for the large run)")
	flag.IntVar(&o.webhooks, "webhooks", 0, "subscribe the reseller with this many webhook endpoints (on a receiver in the benchmark) and report deliveries per second and event-to-delivery latency")
	flag.IntVar(&o.bulk, "bulk", 0, "bulk mode instead: one relationship extension job of this many rows (5000 is the reference); dry-run time, time until every consent request is sent, peak RSS, job history")
	flag.IntVar(&o.bulkRate, "bulk-rate", 6000, "BULK_SEND_RATE of the bulk mode, rows a minute")
	flag.StringVar(&o.out, "out", "bench/results", "report folder")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "stop after this long whatever happens")
	flag.BoolVar(&o.cluster, "cluster", false, "also run the load on the production topology (Temporal server process on the local Postgres, 2 api + 2 worker processes) and report both")
	flag.BoolVar(&o.crash, "crash", false, "with -cluster: kill -9 one worker and one api process once a third of the cluster's invitations were created, restart them, "+
		"then check every invitation completed with exactly one relationship and no e-mail went out twice (exits non-zero otherwise)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (go tool pprof -top <file>)")
	flag.Parse()
	if o.nOther < 0 {
		o.nOther = min(o.n, 40)
	}
	if o.crash && !o.cluster {
		fmt.Fprintln(os.Stderr, "bench: -crash needs -cluster (it kills the cluster's processes)")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	dir, err := os.MkdirTemp("", "onboarding-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	progress("Starting the embedded Temporal server, the SMTP capture server and the product…")
	attrs := map[string]enumspb.IndexedValueType{}
	for _, sa := range workflows.SearchAttributes {
		attrs[sa.Name] = sa.Type
	}
	temporalDB := filepath.Join(dir, "temporal.db")
	srv, err := devserver.Start(devserver.Options{DatabaseFile: temporalDB, Namespace: "default", SearchAttributes: attrs, Logger: logger, LogLevel: slog.LevelError})
	if err != nil {
		return err
	}
	stopServer := sync.OnceFunc(srv.Stop)
	defer stopServer()
	smtp, err := mailtest.Start()
	if err != nil {
		return err
	}
	defer smtp.Close()

	cfg := config.Default()
	cfg.DataDir = dir
	cfg.DatabaseURL = os.Getenv("DATABASE_URL")
	cfg.TemporalAddress = srv.FrontendAddress()
	cfg.SMTPURL = smtp.URL()
	cfg.AdminToken = "bench-admin-token"
	cfg.SecretKey = secret.NewKey()
	cfg.Webhooks.AllowPrivateTargets = true // the receiver is on loopback
	// One key and one loopback address stand for every simulated customer:
	// the benchmark measures the engine, not the per-client limits.
	cfg.RateLimits = config.RateLimits{}
	cfg.SecretKey = secret.NewKey()
	port, err := freePort()
	if err != nil {
		return err
	}
	cfg.HTTPAddr, cfg.PublicBaseURL = "127.0.0.1:"+port, "http://127.0.0.1:"+port
	cfg.MetricsAddr = "off"
	cfg.Bulk.SendRate, cfg.Bulk.PollEvery = o.bulkRate, time.Second
	st, err := app.OpenStore(ctx, cfg, logger, true)
	if err != nil {
		return err
	}
	defer st.Close()
	product, err := app.Start(ctx, cfg, st, logger, app.Roles{API: true, Worker: true})
	if err != nil {
		return err
	}
	stopProduct := sync.OnceFunc(func() { product.Stop(context.Background()) })
	defer stopProduct()
	floor := sdkworker.New(product.Temporal, floorTaskQueue, sdkworker.Options{})
	floor.RegisterWorkflow(FloorInvitation)
	floor.RegisterWorkflow(FloorMinimal)
	floor.RegisterWorkflow(FloorMinimalLocal)
	floor.RegisterActivity(&FloorActivities{})
	if err := floor.Start(); err != nil {
		return err
	}
	stopFloor := sync.OnceFunc(floor.Stop)
	defer stopFloor()

	database := "SQLite (embedded)"
	if cfg.UsesPostgres() {
		database = "Postgres (DATABASE_URL)"
	}
	r := &Report{Machine: machine(), StartedAt: time.Now().UTC(), Database: database, Invitations: o.n, Concurrency: o.concurrency, Rate: o.rate, Latency: map[string]Latency{}}
	h := &httpClient{base: cfg.PublicBaseURL, c: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2}}}
	if o.bulk > 0 {
		return runBulk(ctx, o, cfg, st, product, h, database)
	}
	provider, reseller, err := seed(ctx, h, cfg.AdminToken)
	if err != nil {
		return fmt.Errorf("seed partners: %w", err)
	}
	var sink *hookSink
	if o.webhooks > 0 {
		if sink, err = startHookSink(); err != nil {
			return err
		}
		defer sink.close()
		if err := subscribe(ctx, h, reseller.key, sink.url, o.webhooks); err != nil {
			return fmt.Errorf("subscribe webhook endpoints: %w", err)
		}
	}

	// The floor runs before and after ours: on a shared VM the engine's own
	// rate drifts within one run, and the mean of both sides is the fairer yardstick.
	floorRun := func(shape floorShape, label string) float64 {
		progress("Engine floor, " + shape.title + " (" + label + ")…")
		begin := time.Now()
		var floorErrs atomic.Int64
		var ids sampleIDs
		parallel(ctx, o.n, o.concurrency, func(i int) {
			id, err := floorRoundTrip(ctx, product.Temporal, shape, i)
			if err != nil && floorErrs.Add(1) <= 3 {
				fmt.Fprintln(os.Stderr, "  floor error:", err)
			} else if err == nil {
				ids.add(id)
			}
		})
		perSecond := float64(o.n-int(floorErrs.Load())) / time.Since(begin).Seconds()
		progress(fmt.Sprintf("  %.1f workflows/s", perSecond))
		r.costOf(ctx, product.Temporal, shape.name, ids.list())
		return perSecond
	}
	r.MinimalFloorPerSecond = floorRun(minimalShape, "before")
	r.MinimalLocalFloorPerSecond = floorRun(minimalLocalShape, "before")
	r.FloorBefore = floorRun(sameShape, "before")

	progress(fmt.Sprintf("End to end: %d invitations, %d concurrent customers (create → e-mail over SMTP → accept → relationship)…", o.n, o.concurrency))
	inv := &invitationRun{temporal: product.Temporal, smtp: smtp, provider: provider, reseller: reseller,
		create: &samples{}, accept: &samples{}, complete: &samples{}}
	var errs atomic.Int64
	var invitationIDs sampleIDs
	inv.done = invitationIDs.add
	begin := time.Now()
	parallelPaced(ctx, o.n, o.concurrency, o.rate, func(i int) {
		if err := inv.roundTrip(ctx, h, i); err != nil {
			if errs.Add(1) <= 3 {
				fmt.Fprintln(os.Stderr, "  error:", err)
			}
		}
	})
	elapsed := time.Since(begin)
	r.EndToEndPerSecond = float64(o.n-int(errs.Load())) / elapsed.Seconds()
	r.Errors = errs.Load()
	r.Latency["post_invitations"], r.Latency["accept"], r.Latency["create_to_completed"] = inv.create.summary(), inv.accept.summary(), inv.complete.summary()
	progress(fmt.Sprintf("  %.1f invitations/s, %d errors", r.EndToEndPerSecond, r.Errors))
	if id, took := inv.slowest.get(); id != "" {
		r.SlowestInvitation = fmt.Sprintf("%s, %.2f s create → completed: %s", id, took.Seconds(), historyGaps(ctx, product.Temporal, id))
		progress("  slowest: " + r.SlowestInvitation)
	}
	if id, took := inv.slowestAccept.get(); id != "" {
		r.SlowestAccept = fmt.Sprintf("%s, accept answered in %.2f s: %s", id, took.Seconds(), historyGaps(ctx, product.Temporal, id))
		progress("  slowest accept: " + r.SlowestAccept)
	}
	if sink != nil {
		// Each completed invitation is five catalogue events (created, sent,
		// accepted, completed, relationship.created) to every endpoint.
		expected := (o.n - int(r.Errors)) * 5 * o.webhooks
		progress(fmt.Sprintf("Webhooks: waiting for %d deliveries to %d endpoints…", expected, o.webhooks))
		r.Webhooks = sink.report(ctx, o.webhooks, expected, 5*time.Minute)
		progress(fmt.Sprintf("  %d delivered, %.1f /s, event → delivery p50 %.0f ms p99 %.0f ms", r.Webhooks.Delivered, r.Webhooks.PerSecond,
			r.Webhooks.EventToDelivery.P50, r.Webhooks.EventToDelivery.P99))
	}
	// The other kinds come after the webhook count (their events would add
	// to the deliveries it expects) and before the "after" floor, so that
	// the floor still brackets all of the product's load.
	if o.nOther > 0 {
		if err := r.runOthers(ctx, o, h, product.Temporal, smtp, cfg.AdminToken, provider, reseller); err != nil {
			return fmt.Errorf("extensions and tenant requests: %w", err)
		}
	}

	r.FloorAfter = floorRun(sameShape, "after")
	r.FloorPerSecond = (r.FloorBefore + r.FloorAfter) / 2
	r.RatioToFloor = r.EndToEndPerSecond / r.FloorPerSecond
	r.RatioToMinimal = r.EndToEndPerSecond / r.MinimalFloorPerSecond
	progress(fmt.Sprintf("ours/floor = %.2f (floor %.1f before, %.1f after); ours/minimal shape = %.2f", r.RatioToFloor, r.FloorBefore, r.FloorAfter, r.RatioToMinimal))
	r.costOf(ctx, product.Temporal, "invitation", invitationIDs.list())

	if o.pending > 0 {
		progress(fmt.Sprintf("Pending: starting %d invitations and leaving them waiting…", o.pending))
		begin := time.Now()
		var started atomic.Int64
		parallel(ctx, o.pending, o.concurrency, func(i int) {
			if _, err := h.post(ctx, "/v1/invitations", reseller.key, invitationBody(provider.id, fmt.Sprintf("Bench Pending %d", i), fmt.Sprintf("pending-%d@customers.example", i))); err == nil {
				if n := started.Add(1); n%5000 == 0 {
					progress(fmt.Sprintf("  %d started", n))
				}
			}
		})
		time.Sleep(5 * time.Second) // let the last workflows reach their wait
		runtime.GC()
		r.Pending = &PendingReport{Invitations: int(started.Load()), StartSeconds: time.Since(begin).Seconds(), RSSMiB: currentRSSMiB(),
			AppDatabaseMiB: appDatabaseMiB(ctx, cfg, dir), TemporalDataMiB: filesMiB(temporalDB, temporalDB+"-wal")}
	}
	r.PeakRSSMiB, r.CPUSeconds = peakRSSMiB(), cpuSeconds()
	if o.cluster {
		// The embedded product is stopped first so that the two runs do not
		// share the cores.
		stopFloor()
		stopProduct()
		stopServer()
		if r.Cluster, err = runCluster(ctx, o, smtp, r.EndToEndPerSecond); err != nil {
			return fmt.Errorf("cluster run: %w", err)
		}
	}
	if err := write(o.out, r); err != nil {
		return err
	}
	// The report is written first, so that a failed crash check leaves its evidence.
	if r.Cluster != nil && r.Cluster.Crash != nil {
		if failures := r.Cluster.Crash.failures(); len(failures) > 0 {
			return fmt.Errorf("crash check failed: %s", strings.Join(failures, "; "))
		}
	}
	return nil
}

func progress(msg string) { fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), msg) }

type partner struct{ id, key string }

// linkPath finds the personal link's path: the cluster's processes print
// their own PUBLIC_BASE_URL, so only the path is followed.
var linkPath = regexp.MustCompile(`/i/[A-Za-z0-9_-]{43}`)

// invitationBody is one customer's invitation. Each customer has its own
// company name, so that every e-mail of its onboarding (its invitation, the
// partners' "New reseller relationship: <customer>") has its own subject
// and recipient, which the crash check counts.
func invitationBody(providerID, company, email string) map[string]any {
	return map[string]any{"provider_id": providerID, "customer": map[string]any{"company_name": company, "email": email},
		"message": "Please accept: {{link}}"}
}

// invitationRun drives invitations end to end and keeps their samples.
type invitationRun struct {
	temporal                 client.Client
	smtp                     *mailtest.Server
	provider, reseller       partner
	create, accept, complete *samples
	// created, when set, is given each invitation's id once its create was answered.
	created func(i int, id string)
	// done, when set, is given the workflow id of a completed invitation.
	done func(workflowID string)
	// slowest keeps the invitation that took longest, create to completed;
	// slowestAccept the one whose accept took longest to answer.
	slowest, slowestAccept slowest
	// idempotent sends each create under its own Idempotency-Key, so that a
	// create retried through a crash returns the first one (-crash).
	idempotent bool
}

// roundTrip is one customer's whole invitation.
func (r *invitationRun) roundTrip(ctx context.Context, h *httpClient, i int) error {
	email := fmt.Sprintf("customer-%d@customers.example", i)
	var headers []string
	if r.idempotent {
		headers = []string{"Idempotency-Key", fmt.Sprintf("bench-invitation-%d", i)}
	}
	t0 := time.Now()
	res, err := h.do(ctx, http.MethodPost, "/v1/invitations", r.reseller.key, invitationBody(r.provider.id, fmt.Sprintf("Bench Customer %d", i), email), headers...)
	if err != nil {
		return err
	}
	r.create.add(time.Since(t0))
	id, _ := res["id"].(string)
	workflowID, _ := res["workflow_id"].(string)
	if r.created != nil {
		r.created(i, id)
	}
	msg, err := r.smtp.WaitFor(email, "invites you", h.mailWait())
	if err != nil {
		return err
	}
	link := linkPath.FindString(msg.Body)
	if link == "" {
		return fmt.Errorf("no personal link in the e-mail to %s", email)
	}
	t1 := time.Now()
	if _, err := h.do(ctx, http.MethodPost, link+"/accept", "", nil); err != nil && !h.alreadyAnswered(err) {
		return err
	}
	r.accept.add(time.Since(t1))
	r.slowestAccept.note(workflowID, time.Since(t1))
	// Wait for the end the way the floor does (a long poll on the workflow's
	// result, not a busy client on the same two cores), then read the
	// invitation once through the API: completed, with its relationship row.
	if err := r.temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("invitation %s: %w", id, err)
	}
	inv, err := h.do(ctx, http.MethodGet, "/v1/invitations/"+id, r.reseller.key, nil)
	if err != nil {
		return err
	}
	if inv["status"] != "completed" || inv["relationship_id"] == nil {
		return fmt.Errorf("invitation %s ended %v without a relationship", id, inv["status"])
	}
	r.complete.add(time.Since(t0))
	r.slowest.note(workflowID, time.Since(t0))
	if r.done != nil {
		r.done(workflowID)
	}
	return nil
}

// floorRoundTrip runs one floor workflow of a shape: start, the accept
// update, completion. It answers the workflow id.
func floorRoundTrip(ctx context.Context, c client.Client, shape floorShape, i int) (string, error) {
	id := fmt.Sprintf("%d-%d", time.Now().UnixNano(), i)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "floor-" + shape.name + ":" + id, TaskQueue: floorTaskQueue}, shape.workflow, id)
	if err != nil {
		return "", err
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: "accept", WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return "", err
	}
	if err := h.Get(ctx, nil); err != nil {
		return "", err
	}
	return run.GetID(), run.Get(ctx, nil)
}

func seed(ctx context.Context, h *httpClient, admin string) (partner, partner, error) {
	mk := func(name, typ string) (partner, error) { return createPartner(ctx, h, admin, name, typ, false) }
	provider, err := mk("Bench Provider", "indirect_provider")
	if err != nil {
		return provider, partner{}, err
	}
	reseller, err := mk("Bench Reseller", "reseller")
	if err != nil {
		return provider, reseller, err
	}
	return provider, reseller, activePartnership(ctx, h, provider, reseller)
}

// createPartner registers a partner through the admin API.
func createPartner(ctx context.Context, h *httpClient, admin, name, typ string, directBill bool) (partner, error) {
	res, err := h.post(ctx, "/v1/admin/partners", admin, map[string]any{"name": name, "type": typ, "direct_bill": directBill,
		"contact_email": partnerEmail(name)})
	if err != nil {
		return partner{}, err
	}
	return partner{id: res["id"].(string), key: res["api_key"].(string)}, nil
}

// partnerEmail is where a bench partner's notices go.
func partnerEmail(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@bench.example"
}

// activePartnership: the provider invites, the reseller accepts, then wait
// until the partnership reads active.
func activePartnership(ctx context.Context, h *httpClient, provider, reseller partner) error {
	ps, err := h.post(ctx, "/v1/partnerships", provider.key, map[string]any{"reseller_id": reseller.id})
	if err != nil {
		return err
	}
	if _, err := h.post(ctx, "/v1/partnerships/"+ps["id"].(string)+"/accept", reseller.key, nil); err != nil {
		return err
	}
	return eventually(ctx, time.Minute, "partnership active", func() bool {
		res, err := h.do(ctx, http.MethodGet, "/v1/partnerships/"+ps["id"].(string), reseller.key, nil)
		return err == nil && res["status"] == "active"
	})
}

// eventually polls cond until it holds, for at most wait.
func eventually(ctx context.Context, wait time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(wait)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s: not within %s", what, wait)
}

// parallel runs fn(0..n-1) on `workers` goroutines.
func parallel(ctx context.Context, n, workers int, fn func(i int)) {
	parallelPaced(ctx, n, workers, 0, fn)
}

// parallelPaced is parallel starting fn(i) no sooner than i/rate seconds
// after the first (rate 0: as soon as a goroutine is free).
func parallelPaced(ctx context.Context, n, workers int, rate float64, fn func(i int)) {
	begin := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if rate > 0 {
			time.Sleep(time.Until(begin.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) { s.mu.Lock(); s.d = append(s.d, d); s.mu.Unlock() }

func (s *samples) summary() Latency {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d) == 0 {
		return Latency{}
	}
	sorted := append([]time.Duration(nil), s.d...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	at := func(p float64) float64 {
		return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
	}
	return Latency{P50: at(.50), P95: at(.95), P99: at(.99), Count: len(sorted)}
}

type httpClient struct {
	base string
	c    *http.Client
	// faults, when set, makes every call retry through a crash as a careful
	// partner's script would (-crash): again after a lost connection, a
	// timeout or a 502/503/504, with the caller's Idempotency-Key.
	faults *faultLog
}

// statusError is an answer outside 2xx.
type statusError struct {
	method, path string
	status       int
	body         []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

// alreadyAnswered: under -crash, an answer (accept, consent, approve) whose
// first attempt went through before its connection was cut finds the
// onboarding decided: 409 or 410 to the retry.
func (h *httpClient) alreadyAnswered(err error) bool {
	var se *statusError
	return h.faults != nil && errors.As(err, &se) && (se.status == http.StatusConflict || se.status == http.StatusGone)
}

// mailWait bounds the wait for an e-mail: longer through a crash, where a
// killed worker's activities wait for their timeout before another runs them.
func (h *httpClient) mailWait() time.Duration {
	if h.faults != nil {
		return 5 * time.Minute
	}
	return 2 * time.Minute
}

func (h *httpClient) post(ctx context.Context, path, key string, body any) (map[string]any, error) {
	return h.do(ctx, http.MethodPost, path, key, body)
}

// do sends one request (headers are name, value pairs) and decodes a JSON
// object answer; an answer outside 2xx is a *statusError.
func (h *httpClient) do(ctx context.Context, method, path, key string, body any, headers ...string) (map[string]any, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	delay := 200 * time.Millisecond
	deadline := time.Now().Add(5 * time.Minute)
	for {
		status, answer, err := h.once(ctx, method, path, key, raw, headers)
		if h.faults == nil || ctx.Err() != nil || time.Now().After(deadline) || !h.faults.retry(method, path, status, answer, err) {
			if err != nil {
				return nil, err
			}
			if status >= 300 {
				return nil, &statusError{method, path, status, answer}
			}
			var out map[string]any
			_ = json.Unmarshal(answer, &out)
			return out, nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, 3*time.Second)
	}
}

func (h *httpClient) once(ctx context.Context, method, path, key string, body []byte, headers []string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err // cut mid-answer: a lost connection
	}
	return res.StatusCode, raw, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

func procStatusKiB(field string) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, field+":") {
			var kib float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, field+":")), "%f", &kib)
			return kib
		}
	}
	return 0
}

func peakRSSMiB() float64    { return procStatusKiB("VmHWM") / 1024 }
func currentRSSMiB() float64 { return procStatusKiB("VmRSS") / 1024 }

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func filesMiB(paths ...string) float64 {
	var total int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return float64(total) / (1 << 20)
}

func appDatabaseMiB(ctx context.Context, cfg config.Config, dir string) float64 {
	if !cfg.UsesPostgres() {
		db := filepath.Join(dir, "onboarding.db")
		return filesMiB(db, db+"-wal")
	}
	return -1 // a shared Postgres holds other databases too; see pg_database_size there
}

func machine() string {
	host, _ := os.Hostname()
	cpu := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (%s), %s", host, runtime.NumCPU(), cpu, runtime.Version())
}
