package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/cluster"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
)

// runCluster drives the same invitations through the production topology:
// both API replicas alternately, two workers, a Temporal server process on
// Postgres. Its databases are dropped afterwards.
func runCluster(ctx context.Context, o options, smtp *mailtest.Server, embedded float64) (*ClusterReport, error) {
	root, err := cluster.RepoRoot(".")
	if err != nil {
		return nil, err
	}
	pgURL := os.Getenv("CLUSTER_POSTGRES_URL")
	if pgURL == "" {
		pgURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pg, err := cluster.ParsePostgres(pgURL)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "onboarding-bench-cluster")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	const admin = "bench-cluster-admin-token-0123456789abcdef"
	progress("Cluster: building and starting a Temporal server process on Postgres, 2 workers and 2 APIs…")
	c, err := cluster.Up(ctx, cluster.Options{RepoRoot: root, Dir: dir, BinDir: root + "/bin", Postgres: pg,
		Name: fmt.Sprintf("bench_%d", time.Now().Unix()), APIs: 2, Workers: 2, AdminToken: admin,
		// The load comes from one address and one key: the limits are off, as in the embedded run.
		Env: []string{"SMTP_URL=" + smtp.URL(), "LOG_LEVEL=error",
			"ONBOARDING_RATE_PER_KEY=0", "ONBOARDING_RATE_PER_ADDR=0", "ONBOARDING_RATE_LINK_PER_ADDR=0"}, Progress: os.Stderr})
	if c != nil {
		defer func() {
			c.Down()
			if err := c.DropDatabases(context.Background()); err != nil {
				progress("could not drop the cluster's databases: " + err.Error())
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	tc, err := client.DialContext(ctx, client.Options{HostPort: c.Temporal.Frontend, Namespace: c.Temporal.Namespace})
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	var apis []*httpClient
	var faults *faultLog
	if o.crash {
		faults = &faultLog{}
	}
	for _, s := range c.APIs {
		apis = append(apis, &httpClient{base: s.BaseURL(), faults: faults,
			c: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2}}})
	}
	provider, reseller, err := seed(ctx, apis[0], admin)
	if err != nil {
		return nil, fmt.Errorf("seed partners: %w", err)
	}
	progress(fmt.Sprintf("Cluster end to end: %d invitations, %d concurrent customers, alternating between the two APIs…", o.n, o.concurrency))
	inv := &invitationRun{temporal: tc, smtp: smtp, provider: provider, reseller: reseller,
		create: &samples{}, accept: &samples{}, complete: &samples{}}
	ids := make([]string, o.n)
	var crash *crashRun
	if o.crash {
		// Each create under its own Idempotency-Key, so that one retried
		// through the api's death is answered with the first.
		crash = startCrash(ctx, c, o.n)
		inv.idempotent = true
		inv.created = func(i int, id string) {
			ids[i-o.n] = id
			crash.created.Add(1)
		}
		progress(fmt.Sprintf("  -crash: %s and %s will be killed with SIGKILL once %d invitations were created, then restarted", c.Workers[0].Name, c.APIs[0].Name, max(1, o.n/3)))
	}
	var errs atomic.Int64
	begin := time.Now()
	parallel(ctx, o.n, o.concurrency, func(i int) {
		// Offset the e-mail addresses from the embedded run's: one SMTP server serves both.
		if err := inv.roundTrip(ctx, apis[i%len(apis)], o.n+i); err != nil {
			if errs.Add(1) <= 3 {
				fmt.Fprintln(os.Stderr, "  error:", err)
			}
		}
	})
	r := &ClusterReport{
		Topology:          "Temporal server process (Postgres persistence + SQL visibility, 4 history shards), 2 api + 2 worker processes, Postgres app database",
		EndToEndPerSecond: float64(o.n-int(errs.Load())) / time.Since(begin).Seconds(),
		Errors:            errs.Load(),
		Latency:           map[string]Latency{"post_invitations": inv.create.summary(), "accept": inv.accept.summary(), "create_to_completed": inv.complete.summary()},
	}
	if embedded > 0 {
		r.RatioToEmbedded = r.EndToEndPerSecond / embedded
	}
	progress(fmt.Sprintf("  %.1f invitations/s on the cluster (%.2f × the embedded default), %d errors", r.EndToEndPerSecond, r.RatioToEmbedded, r.Errors))
	if crash != nil {
		r.Crash = crash.verify(ctx, apis[len(apis)-1], reseller, ids, smtp, begin)
	}
	return r, nil
}
