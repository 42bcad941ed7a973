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
package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	cluster                 bool
	n, concurrency, pending int
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
}

// ClusterReport is the same end-to-end load on the production topology.
type ClusterReport struct {
	Topology          string             `json:"topology"`
	EndToEndPerSecond float64            `json:"end_to_end_per_second"`
	RatioToEmbedded   float64            `json:"ratio_to_embedded"`
	Latency           map[string]Latency `json:"latency_ms"`
	Errors            int64              `json:"errors"`
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
	flag.IntVar(&o.pending, "pending", 0, "then start this many invitations and leave them waiting (20000 is the reference; 100000 for the large run)")
	flag.IntVar(&o.webhooks, "webhooks", 0, "subscribe the reseller with this many webhook endpoints (on a receiver in the benchmark) and report deliveries per second and event-to-delivery latency")
	flag.IntVar(&o.bulk, "bulk", 0, "bulk mode instead: one relationship extension job of this many rows (5000 is the reference); dry-run time, time until every consent request is sent, peak RSS, job history")
	flag.IntVar(&o.bulkRate, "bulk-rate", 6000, "BULK_SEND_RATE of the bulk mode, rows a minute")
	flag.StringVar(&o.out, "out", "bench/results", "report folder")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "stop after this long whatever happens")
	flag.BoolVar(&o.cluster, "cluster", false, "also run the load on the production topology (Temporal server process on the local Postgres, 2 api + 2 worker processes) and report both")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (go tool pprof -top <file>)")
	flag.Parse()
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
	floor.RegisterWorkflow(FloorRelationship)
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
	r := &Report{Machine: machine(), StartedAt: time.Now().UTC(), Database: database, Invitations: o.n, Concurrency: o.concurrency, Latency: map[string]Latency{}}
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
	create, accept, complete := &samples{}, &samples{}, &samples{}
	var errs atomic.Int64
	var invitationIDs sampleIDs
	begin := time.Now()
	parallel(ctx, o.n, o.concurrency, func(i int) {
		if err := invitationRoundTrip(ctx, h, product.Temporal, smtp, provider, reseller, i, create, accept, complete, invitationIDs.add); err != nil {
			if errs.Add(1) <= 3 {
				fmt.Fprintln(os.Stderr, "  error:", err)
			}
		}
	})
	elapsed := time.Since(begin)
	r.EndToEndPerSecond = float64(o.n-int(errs.Load())) / elapsed.Seconds()
	r.Errors = errs.Load()
	r.Latency["post_invitations"], r.Latency["accept"], r.Latency["create_to_completed"] = create.summary(), accept.summary(), complete.summary()
	progress(fmt.Sprintf("  %.1f invitations/s, %d errors", r.EndToEndPerSecond, r.Errors))
	if sink != nil {
		// Each completed invitation is five catalogue events (created, sent,
		// accepted, completed, relationship.created) to every endpoint.
		expected := (o.n - int(r.Errors)) * 5 * o.webhooks
		progress(fmt.Sprintf("Webhooks: waiting for %d deliveries to %d endpoints…", expected, o.webhooks))
		r.Webhooks = sink.report(ctx, o.webhooks, expected, 5*time.Minute)
		progress(fmt.Sprintf("  %d delivered, %.1f /s, event → delivery p50 %.0f ms p99 %.0f ms", r.Webhooks.Delivered, r.Webhooks.PerSecond,
			r.Webhooks.EventToDelivery.P50, r.Webhooks.EventToDelivery.P99))
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
			if _, err := h.post(ctx, "/v1/invitations", reseller.key, invitationBody(provider.id, fmt.Sprintf("pending-%d@customers.example", i))); err == nil {
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
	return write(o.out, r)
}

func progress(msg string) { fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), msg) }

type partner struct{ id, key string }

// linkPath finds the personal link's path: the cluster's processes print
// their own PUBLIC_BASE_URL, so only the path is followed.
var linkPath = regexp.MustCompile(`/i/[A-Za-z0-9_-]{43}`)

func invitationBody(providerID, email string) map[string]any {
	return map[string]any{"provider_id": providerID, "customer": map[string]any{"company_name": "Bench Customer", "email": email},
		"message": "Please accept: {{link}}"}
}

// invitationRoundTrip is one customer's whole invitation.
// done, when set, is given the workflow id of a completed invitation.
func invitationRoundTrip(ctx context.Context, h *httpClient, temporal client.Client, smtp *mailtest.Server, provider, reseller partner, i int, create, accept, complete *samples,
	done func(workflowID string)) error {
	email := fmt.Sprintf("customer-%d@customers.example", i)
	t0 := time.Now()
	res, err := h.post(ctx, "/v1/invitations", reseller.key, invitationBody(provider.id, email))
	if err != nil {
		return err
	}
	create.add(time.Since(t0))
	id, _ := res["id"].(string)
	workflowID, _ := res["workflow_id"].(string)
	msg, err := smtp.WaitFor(email, "invites you", 2*time.Minute)
	if err != nil {
		return err
	}
	link := linkPath.FindString(msg.Body)
	if link == "" {
		return fmt.Errorf("no personal link in the e-mail to %s", email)
	}
	t1 := time.Now()
	if _, err := h.do(ctx, http.MethodPost, link+"/accept", "", nil); err != nil {
		return err
	}
	accept.add(time.Since(t1))
	// Wait for the end the way the floor does (a long poll on the workflow's
	// result, not a busy client on the same two cores), then read the
	// invitation once through the API: completed, with its relationship row.
	if err := temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("invitation %s: %w", id, err)
	}
	inv, err := h.do(ctx, http.MethodGet, "/v1/invitations/"+id, reseller.key, nil)
	if err != nil {
		return err
	}
	if inv["status"] != "completed" || inv["relationship_id"] == nil {
		return fmt.Errorf("invitation %s ended %v without a relationship", id, inv["status"])
	}
	complete.add(time.Since(t0))
	if done != nil {
		done(workflowID)
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
	mk := func(name, typ string) (partner, error) {
		res, err := h.post(ctx, "/v1/admin/partners", admin, map[string]any{"name": name, "type": typ, "contact_email": strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@bench.example"})
		if err != nil {
			return partner{}, err
		}
		return partner{id: res["id"].(string), key: res["api_key"].(string)}, nil
	}
	provider, err := mk("Bench Provider", "indirect_provider")
	if err != nil {
		return provider, partner{}, err
	}
	reseller, err := mk("Bench Reseller", "reseller")
	if err != nil {
		return provider, reseller, err
	}
	ps, err := h.post(ctx, "/v1/partnerships", provider.key, map[string]any{"reseller_id": reseller.id})
	if err != nil {
		return provider, reseller, err
	}
	if _, err := h.post(ctx, "/v1/partnerships/"+ps["id"].(string)+"/accept", reseller.key, nil); err != nil {
		return provider, reseller, err
	}
	for ctx.Err() == nil {
		if res, err := h.do(ctx, http.MethodGet, "/v1/partnerships/"+ps["id"].(string), reseller.key, nil); err == nil && res["status"] == "active" {
			return provider, reseller, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return provider, reseller, ctx.Err()
}

// parallel runs fn(0..n-1) on `workers` goroutines.
func parallel(ctx context.Context, n, workers int, fn func(i int)) {
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
}

func (h *httpClient) post(ctx context.Context, path, key string, body any) (map[string]any, error) {
	return h.do(ctx, http.MethodPost, path, key, body)
}

func (h *httpClient) do(ctx context.Context, method, path, key string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := h.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out, nil
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
