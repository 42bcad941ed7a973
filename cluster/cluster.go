package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/workflows"
)

// Options shape a topology.
type Options struct {
	RepoRoot string
	Dir      string // logs, config files, binaries under Dir/bin unless BinDir is set
	BinDir   string
	Postgres Postgres
	// Name prefixes the databases: Name (app), temporal_Name and
	// temporal_Name_visibility. Reusing a name keeps the state.
	Name          string
	APIs, Workers int
	AdminToken    string
	// SecretKey seals personal links and webhook secrets at rest
	// (ONBOARDING_SECRET_KEY); Up makes one when empty.
	SecretKey string
	// Env is added to every api and worker process (SMTP_URL, timings…).
	Env      []string
	Progress io.Writer
}

// Cluster is a running topology.
type Cluster struct {
	Temporal       *Temporal
	APIs           []*Service
	Workers        []*Service
	AppDatabaseURL string
	TaskQueue      string
	opts           Options
	bin            Binaries
}

// Service is one api or worker process with the address it answers on
// (/readyz, and for an api the whole API; for a worker its metrics port).
type Service struct {
	*Process
	Addr string
}

// BaseURL is the service's http:// base.
func (s *Service) BaseURL() string { return "http://" + s.Addr }

// Ready reports whether /readyz answers 200.
func (s *Service) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL()+"/readyz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /readyz answered %s", s.Name, res.Status)
	}
	return nil
}

// WaitReady waits until /readyz answers 200.
func (s *Service) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return waitFor(ctx, s.Process, s.Name+" to be ready", s.Ready)
}

// Up builds what is missing, prepares the databases and starts Temporal,
// then the workers, then the APIs, each waited for until ready.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.SecretKey == "" {
		opts.SecretKey = secret.NewKey()
	}
	if opts.BinDir == "" {
		opts.BinDir = filepath.Join(opts.Dir, "bin")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	bin, err := Build(ctx, opts.RepoRoot, opts.BinDir, opts.Progress)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, bin: bin, TaskQueue: "onboarding", AppDatabaseURL: opts.Postgres.URL(opts.Name)}

	fmt.Fprintf(opts.Progress, "==> App database %s: create if missing, migrate\n", opts.Name)
	if err := createDatabase(ctx, opts.Postgres, opts.Name); err != nil {
		return nil, err
	}
	migrate := exec.CommandContext(ctx, bin.Onboarding, "migrate")
	migrate.Env = append(os.Environ(), "DATABASE_URL="+c.AppDatabaseURL, "LOG_FORMAT=text")
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("onboarding migrate: %w\n%s", err, out)
	}

	fmt.Fprintf(opts.Progress, "==> Temporal server: databases temporal_%s(_visibility), schema from the server module, 4 history shards\n", opts.Name)
	c.Temporal, err = NewTemporal(ctx, bin, opts.Postgres, TemporalOptions{Dir: opts.Dir, Database: "temporal_" + opts.Name})
	if err != nil {
		return nil, err
	}
	if err := c.Temporal.Start(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Progress, "    frontend %s\n", c.Temporal.Frontend)

	for i := range opts.Workers {
		s, err := c.newService("worker", i+1)
		if err != nil {
			return nil, err
		}
		c.Workers = append(c.Workers, s)
	}
	for i := range opts.APIs {
		s, err := c.newService("api", i+1)
		if err != nil {
			return nil, err
		}
		c.APIs = append(c.APIs, s)
	}
	for _, s := range append(append([]*Service{}, c.Workers...), c.APIs...) {
		fmt.Fprintf(opts.Progress, "==> Starting %s on %s\n", s.Name, s.Addr)
		if err := s.Start(); err != nil {
			return nil, err
		}
		if err := s.WaitReady(ctx, time.Minute); err != nil {
			return nil, err
		}
	}
	// The workers registered the search attributes; wait until the frontend
	// accepts them on a start, as every create of the API needs.
	if err := c.waitSearchAttributes(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) newService(role string, n int) (*Service, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	metrics := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	env := []string{
		"DATABASE_URL=" + c.AppDatabaseURL,
		"TEMPORAL_ADDRESS=" + c.Temporal.Frontend,
		"TEMPORAL_NAMESPACE=" + c.Temporal.Namespace,
		"TEMPORAL_TASK_QUEUE=" + c.TaskQueue,
		"LOG_FORMAT=json",
		"ONBOARDING_ADMIN_TOKEN=" + c.opts.AdminToken,
		"ONBOARDING_SECRET_KEY=" + c.opts.SecretKey,
	}
	if role == "api" {
		env = append(env, "ONBOARDING_HTTP_ADDR="+addr, "ONBOARDING_METRICS_ADDR="+metrics)
	} else {
		// A worker answers /readyz beside its /metrics.
		env = append(env, "ONBOARDING_METRICS_ADDR="+addr)
	}
	name := fmt.Sprintf("%s-%d", role, n)
	return &Service{Addr: addr, Process: &Process{Name: name, Path: c.bin.Onboarding, Args: []string{role},
		Env: append(env, c.opts.Env...), LogFile: filepath.Join(c.opts.Dir, name+".log")}}, nil
}

func (c *Cluster) waitSearchAttributes(ctx context.Context) error {
	tc, err := client.DialContext(ctx, client.Options{HostPort: c.Temporal.Frontend, Namespace: c.Temporal.Namespace, Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	probe := 0
	return waitFor(ctx, &c.Temporal.Process, "the custom search attributes", func(ctx context.Context) error {
		probe++
		id := fmt.Sprintf("cluster-probe-%d-%d", time.Now().UnixNano(), probe)
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "cluster-probe",
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.SearchKind.ValueSet("probe"), workflows.SearchStatus.ValueSet("probe"),
				workflows.SearchEndsAt.ValueSet(time.Now()))}, "ClusterProbe")
		if err != nil {
			return err
		}
		return tc.TerminateWorkflow(ctx, id, run.GetRunID(), "search attribute probe")
	})
}

// Down stops the APIs, the workers (gracefully) and Temporal.
func (c *Cluster) Down() {
	for _, s := range append(append([]*Service{}, c.APIs...), c.Workers...) {
		_, _ = s.Stop(30 * time.Second)
	}
	if c.Temporal != nil {
		_, _ = c.Temporal.Stop(30 * time.Second)
	}
}

// DropDatabases removes the databases of a topology with these options
// (after Down, or to start over).
func DropDatabases(ctx context.Context, opts Options) error {
	if opts.BinDir == "" {
		opts.BinDir = filepath.Join(opts.Dir, "bin")
	}
	bin, err := Build(ctx, opts.RepoRoot, opts.BinDir, io.Discard)
	if err != nil {
		return err
	}
	t := &Temporal{binaries: bin, pg: opts.Postgres, Database: "temporal_" + opts.Name}
	return errors.Join(t.DropDatabases(ctx), dropDatabase(ctx, opts.Postgres, opts.Name))
}

// DropDatabases removes this topology's databases (after Down).
func (c *Cluster) DropDatabases(ctx context.Context) error {
	return errors.Join(c.Temporal.DropDatabases(ctx), dropDatabase(ctx, c.opts.Postgres, c.opts.Name))
}

func createDatabase(ctx context.Context, pg Postgres, name string) error {
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to Postgres at %s:%s: %w", pg.Host, pg.Port, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func dropDatabase(ctx context.Context, pg Postgres, name string) error {
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// TerminateAppSessions ends every Postgres session on the app database, as a
// database failover or restart would; the processes must reconnect.
func (c *Cluster) TerminateAppSessions(ctx context.Context) (int, error) {
	conn, err := pgx.Connect(ctx, c.opts.Postgres.URL("postgres"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", c.opts.Name).Scan(&n)
	return n, err
}
