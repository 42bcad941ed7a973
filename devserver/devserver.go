// Package devserver runs a Temporal server and its Web UI inside this process,
// the way the Temporal CLI's dev server does: SQLite persistence in a file (so
// workflows survive a restart), the namespace and the custom search
// attributes created at first start. Only `onboarding dev` and the end-to-end
// tests import it: it is large, and it keeps the server out of every other
// package's build.
package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Options configures the embedded server.
type Options struct {
	// DatabaseFile is the SQLite file; empty keeps everything in memory (tests).
	DatabaseFile string
	IP           string // default 127.0.0.1
	FrontendPort int    // 0 picks a free port
	UIPort       int    // 0 runs no Web UI
	Namespace    string
	// SearchAttributes are created with the namespace (all Keyword here).
	SearchAttributes map[string]enumspb.IndexedValueType
	Logger           *slog.Logger
	// LogLevel filters the server's own logs; it is chatty below Warn.
	LogLevel slog.Level
}

// Server is a running embedded Temporal.
type Server struct {
	server   temporal.Server
	ui       *uiserver.Server
	frontend string
	uiAddr   string
	logLevel *slog.LevelVar
}

const (
	clusterName  = "active"
	devClusterID = "5f0c8a63-0c55-4b8e-9a57-3d1c7f4e2b10" // fixed, so restarts find the same cluster
)

// Start brings the server up and returns once its frontend accepts calls.
func Start(opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var err error
	if opts.FrontendPort == 0 {
		if opts.FrontendPort, err = freePort(opts.IP); err != nil {
			return nil, err
		}
	}
	frontend := net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort))

	sqlConf, err := sqlConfig(opts)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(opts, sqlConf)
	if err != nil {
		return nil, err
	}
	level := &slog.LevelVar{}
	level.Set(opts.LogLevel)
	logger := slogAdapter{log: opts.Logger, level: level}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.MatchingService, primitives.HistoryService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("build the embedded Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start the embedded Temporal server: %w", err)
	}
	s := &Server{server: srv, frontend: frontend, logLevel: level}
	if opts.UIPort != 0 {
		s.uiAddr = net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort))
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                opts.IP,
			Port:                opts.UIPort,
			TemporalGRPCAddress: frontend,
			EnableUI:            true,
			DefaultNamespace:    opts.Namespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true, // no network here, and no calls home
		}))
		go func() {
			if err := s.ui.Start(); err != nil {
				opts.Logger.Error("Temporal Web UI stopped", "error", err, "address", s.uiAddr)
			}
		}()
	}
	return s, nil
}

// FrontendAddress is the host:port clients dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIAddress is the Web UI's host:port, or empty.
func (s *Server) UIAddress() string { return s.uiAddr }

// Stop shuts the UI and the server down.
func (s *Server) Stop() {
	// Its services dial each other while going down; those warnings are noise.
	s.logLevel.Set(slog.LevelError)
	if s.ui != nil {
		s.ui.Stop()
	}
	if err := s.server.Stop(); err != nil {
		slog.Default().Warn("Temporal server stopped with an error", "error", err)
	}
}

func sqlConfig(opts Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DatabaseFile == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = fmt.Sprintf("onboarding-%d", time.Now().UnixNano())
	} else {
		// WAL lets readers run beside the single writer; one connection keeps
		// SQLite from answering "database is locked" under load.
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "normal", "busy_timeout": "10000"}
		conf.DatabaseName = opts.DatabaseFile
		conf.MaxConns = 1
		if err := os.MkdirAll(filepath.Dir(opts.DatabaseFile), 0o750); err != nil {
			return nil, fmt.Errorf("create folder for %s: %w", opts.DatabaseFile, err)
		}
	}
	if _, err := os.Stat(opts.DatabaseFile); opts.DatabaseFile == "" || os.IsNotExist(err) {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("set up the Temporal schema: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", opts.Namespace, err)
	}
	return conf, nil
}

func serverConfig(opts Options, sqlConf *config.SQL) (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = opts.IP
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	httpPort, err := freePort(opts.IP)
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort)),
				HTTPAddress:            net.JoinHostPort(opts.IP, strconv.Itoa(httpPort)),
				ClusterID:              devClusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = opts.IP
		if name == "frontend" {
			svc.RPC.GRPCPort = opts.FrontendPort
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = freePort(opts.IP); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort))
	return &conf, nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// slogAdapter sends the server's logs to slog.
type slogAdapter struct {
	log   *slog.Logger
	level *slog.LevelVar
}

var _ log.Logger = slogAdapter{}

func (s slogAdapter) Debug(msg string, tags ...tag.Tag) { s.emit(slog.LevelDebug, msg, tags) }
func (s slogAdapter) Info(msg string, tags ...tag.Tag)  { s.emit(slog.LevelInfo, msg, tags) }
func (s slogAdapter) Warn(msg string, tags ...tag.Tag)  { s.emit(slog.LevelWarn, msg, tags) }
func (s slogAdapter) Error(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }

// The server's panics and fatals are reported, not acted on: the process owns its lifetime.
func (s slogAdapter) DPanic(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }
func (s slogAdapter) Panic(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }
func (s slogAdapter) Fatal(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }

func (s slogAdapter) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level < s.level.Level() {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags)+1)
	attrs = append(attrs, slog.String("component", "temporal-server"))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}
