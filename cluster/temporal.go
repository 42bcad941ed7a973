package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Postgres says how to reach the Postgres server as a role that may create
// databases (the harness creates Temporal's two and the app's one).
type Postgres struct {
	Host, Port, User, Password string
}

// ParsePostgres reads a postgres:// URL; its database part is ignored.
func ParsePostgres(raw string) (Postgres, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return Postgres{}, fmt.Errorf("not a postgres:// URL: %q", raw)
	}
	pg := Postgres{Host: u.Hostname(), Port: u.Port(), User: u.User.Username()}
	pg.Password, _ = u.User.Password()
	if pg.Port == "" {
		pg.Port = "5432"
	}
	if pg.User == "" {
		pg.User = "postgres"
	}
	return pg, nil
}

// URL is a connection URL to one database.
func (pg Postgres) URL(database string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(pg.Host, pg.Port), Path: "/" + database, RawQuery: "sslmode=disable"}
	if pg.Password != "" {
		u.User = url.UserPassword(pg.User, pg.Password)
	} else {
		u.User = url.User(pg.User)
	}
	return u.String()
}

// Temporal is a Temporal server process with Postgres persistence.
type Temporal struct {
	Process
	Frontend   string // host:port of the frontend's gRPC
	Namespace  string
	Database   string // persistence database; visibility is Database+"_visibility"
	configFile string
	binaries   Binaries
	pg         Postgres
}

// TemporalOptions shape the server.
type TemporalOptions struct {
	Dir           string // config and log files
	Database      string // e.g. temporal_cluster
	Namespace     string
	HistoryShards int // 4 by default: several shards, as production has
}

// NewTemporal prepares (but does not start) a server: its databases and
// schema in Postgres, through Temporal's own schema tool and the schema files
// embedded in the server module, and its config file on free ports.
func NewTemporal(ctx context.Context, b Binaries, pg Postgres, opts TemporalOptions) (*Temporal, error) {
	if opts.HistoryShards == 0 {
		opts.HistoryShards = 4
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	t := &Temporal{binaries: b, pg: pg, Database: opts.Database, Namespace: opts.Namespace,
		configFile: filepath.Join(opts.Dir, "temporal-server.yaml")}
	for _, db := range []struct{ name, schema string }{
		{opts.Database, "postgresql/v12/temporal"},
		{opts.Database + "_visibility", "postgresql/v12/visibility"},
	} {
		if err := t.setupSchema(ctx, db.name, db.schema); err != nil {
			return nil, err
		}
	}
	ports, err := freePorts(9)
	if err != nil {
		return nil, err
	}
	t.Frontend = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	if err := writeServerConfig(t.configFile, serverConfig{
		Postgres: pg, Database: opts.Database, Shards: opts.HistoryShards,
		FrontendGRPC: ports[0], FrontendHTTP: ports[1], FrontendMembership: ports[2],
		HistoryGRPC: ports[3], HistoryMembership: ports[4],
		MatchingGRPC: ports[5], MatchingMembership: ports[6],
		WorkerGRPC: ports[7], WorkerMembership: ports[8],
		DynamicConfig: filepath.Join(opts.Dir, "dynamicconfig.yaml"),
	}); err != nil {
		return nil, err
	}
	t.Process = Process{Name: "temporal-server", Path: b.TemporalServer,
		Args: []string{"--config-file", t.configFile, "--allow-no-auth", "start"}, LogFile: filepath.Join(opts.Dir, "temporal-server.log")}
	return t, nil
}

// setupSchema creates the database if missing and brings its schema to the
// newest version, the way Temporal's auto-setup image does.
func (t *Temporal) setupSchema(ctx context.Context, database, schemaName string) error {
	base := []string{"--plugin", "postgres12", "--endpoint", t.pg.Host, "--port", t.pg.Port, "--user", t.pg.User, "--database", database}
	if t.pg.Password != "" {
		base = append(base, "--password", t.pg.Password)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, t.binaries.SQLTool, append(append([]string{}, base...), args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("create-database"); err != nil && !strings.Contains(out, "already exists") {
		return fmt.Errorf("create database %s: %w\n%s", database, err, out)
	}
	// setup-schema with version 0.0 only creates the versioning tables; it
	// is refused when they exist, which is the restart case.
	if out, err := run("setup-schema", "--version", "0.0"); err != nil && !strings.Contains(out, "already exists") {
		return fmt.Errorf("set up schema versioning in %s: %w\n%s", database, err, out)
	}
	if out, err := run("update-schema", "--schema-name", schemaName); err != nil {
		return fmt.Errorf("update schema of %s: %w\n%s", database, err, out)
	}
	return nil
}

// DropDatabases removes the server's databases (after Stop).
func (t *Temporal) DropDatabases(ctx context.Context) error {
	return errors.Join(dropDatabase(ctx, t.pg, t.Database), dropDatabase(ctx, t.pg, t.Database+"_visibility"))
}

// Start runs the server and returns once its frontend answers and the
// namespace exists.
func (t *Temporal) Start(ctx context.Context) error {
	if err := t.Process.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var c client.Client
	err := waitFor(ctx, &t.Process, "the Temporal frontend at "+t.Frontend, func(ctx context.Context) error {
		var err error
		if c == nil {
			if c, err = client.DialContext(ctx, client.Options{HostPort: t.Frontend, Namespace: t.Namespace, Logger: quietLogger{}}); err != nil {
				return err
			}
		}
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	return t.ensureNamespace(ctx, c)
}

func (t *Temporal) ensureNamespace(ctx context.Context, c client.Client) error {
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        t.Namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(3 * 24 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", t.Namespace, err)
	}
	// The frontend's namespace cache may lag the registration by a refresh.
	return waitFor(ctx, &t.Process, "namespace "+t.Namespace, func(ctx context.Context) error {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.Namespace})
		return err
	})
}

type serverConfig struct {
	Postgres
	Database                         string
	Shards                           int
	FrontendGRPC, FrontendHTTP       int
	FrontendMembership               int
	HistoryGRPC, HistoryMembership   int
	MatchingGRPC, MatchingMembership int
	WorkerGRPC, WorkerMembership     int
	DynamicConfig                    string
}

// The server's static configuration, in the shape of the server module's
// config/development-postgres12.yaml: all four services in one process,
// Postgres persistence, SQL (Postgres) visibility.
var serverConfigTemplate = template.Must(template.New("config").Parse(`log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: {{.Shards}}
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: "{{.Database}}"
        connectAddr: "{{.Host}}:{{.Port}}"
        connectProtocol: tcp
        user: "{{.User}}"
        password: "{{.Password}}"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: "{{.Database}}_visibility"
        connectAddr: "{{.Host}}:{{.Port}}"
        connectProtocol: tcp
        user: "{{.User}}"
        password: "{{.Password}}"
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
  frontend:
    rpc:
      grpcPort: {{.FrontendGRPC}}
      membershipPort: {{.FrontendMembership}}
      httpPort: {{.FrontendHTTP}}
      bindOnIP: 127.0.0.1
  history:
    rpc:
      grpcPort: {{.HistoryGRPC}}
      membershipPort: {{.HistoryMembership}}
      bindOnIP: 127.0.0.1
  matching:
    rpc:
      grpcPort: {{.MatchingGRPC}}
      membershipPort: {{.MatchingMembership}}
      bindOnIP: 127.0.0.1
  worker:
    rpc:
      grpcPort: {{.WorkerGRPC}}
      membershipPort: {{.WorkerMembership}}
      bindOnIP: 127.0.0.1
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:{{.FrontendGRPC}}"
      httpAddress: "127.0.0.1:{{.FrontendHTTP}}"
dcRedirectionPolicy:
  policy: noop
archival:
  history:
    state: disabled
  visibility:
    state: disabled
namespaceDefaults:
  archival:
    history:
      state: disabled
    visibility:
      state: disabled
publicClient:
  hostPort: "127.0.0.1:{{.FrontendGRPC}}"
dynamicConfigClient:
  filepath: "{{.DynamicConfig}}"
  pollInterval: 10s
`))

// dynamicConfig: a newly registered namespace and search attributes are seen
// within a second instead of the default refresh, which matters at start-up.
const dynamicConfig = `system.namespaceCacheRefreshInterval:
  - value: 1s
`

func writeServerConfig(path string, c serverConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := serverConfigTemplate.Execute(f, c); err != nil {
		return err
	}
	return os.WriteFile(c.DynamicConfig, []byte(dynamicConfig), 0o600)
}

// freePorts reserves n distinct free loopback ports below 32768: Temporal
// keeps its services' ports in the cluster_membership table as smallint, so
// the kernel's ephemeral ports (32768 and up) would stop the server.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("no free loopback port between 20000 and 32000")
		}
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports, nil
}

// quietLogger keeps the SDK's connection retries out of the harness output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
