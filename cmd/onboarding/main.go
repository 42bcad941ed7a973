// Command onboarding runs the CSP reseller onboarding product.
//
//	onboarding dev      everything in one process on the embedded default
//	onboarding api      the HTTP API (production)
//	onboarding worker   the Temporal worker (production)
//	onboarding migrate  apply database migrations
//	onboarding partner-center register-webhooks|validate  Partner Center webhook registration
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/csp-onboarding/onboarding/app"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/devserver"
	"github.com/csp-onboarding/onboarding/workflows"
)

const usage = `onboarding — CSP two-tier channel onboarding on Temporal

Usage:
  onboarding dev       run Temporal (embedded, with its Web UI), the worker and the API in one process
  onboarding api       run the HTTP API against TEMPORAL_ADDRESS and DATABASE_URL
  onboarding worker    run the Temporal worker
  onboarding migrate   apply the database migrations and exit
  onboarding partner-center register-webhooks --partner <id>   register our webhook and events with Partner Center
  onboarding partner-center validate --partner <id>            have Partner Center post its validation event
  onboarding healthcheck         exit 0 when the local API answers /readyz (for container health checks)
  onboarding healthcheck worker  the same for a worker, on ONBOARDING_METRICS_ADDR

Configuration comes from environment variables; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd := os.Args[1]
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := app.NewLogger(cfg, cmd == "dev")
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "dev":
		err = runDev(ctx, cfg, logger)
	case "api":
		err = runServices(ctx, cfg, logger, app.Roles{API: true})
	case "worker":
		err = runServices(ctx, cfg, logger, app.Roles{Worker: true})
	case "migrate":
		err = runMigrate(ctx, cfg, logger)
	case "partner-center":
		err = runPartnerCenter(ctx, cfg, logger, os.Args[2:], os.Stdout)
	case "healthcheck":
		addr := cfg.HTTPAddr
		if len(os.Args) > 2 && os.Args[2] == "worker" {
			addr = cfg.MetricsAddr
		}
		err = healthcheck(ctx, addr)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		logger.Error("onboarding "+cmd+" failed", "error", err)
		os.Exit(1)
	}
}

func runMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	// Migrations run as the tables' owner; the app connects as its own role.
	if cfg.MigrateDatabaseURL != "" {
		cfg.DatabaseURL = cfg.MigrateDatabaseURL
	}
	st, err := app.OpenStore(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	logger.Info("Migrations done", "applied", applied, "dialect", st.Dialect())
	if cfg.DBAppRole != "" {
		if err := st.GrantAppRole(ctx, cfg.DBAppRole); err != nil {
			return err
		}
		logger.Info("App role granted: consent records are append-only for it", "role", cfg.DBAppRole)
	}
	return nil
}

// runServices runs the API or the worker until a signal.
func runServices(ctx context.Context, cfg config.Config, logger *slog.Logger, roles app.Roles) error {
	if roles.API {
		if err := cfg.CheckAdminToken(); err != nil {
			return err
		}
		if cfg.AdminToken == "" {
			logger.Warn("ONBOARDING_ADMIN_TOKEN is not set: the admin routes refuse every request")
		}
	}
	st, err := app.OpenStore(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := app.Start(ctx, cfg, st, logger, roles)
	if err != nil {
		return err
	}
	if roles.API {
		logger.Info("API listening", "address", a.HTTPAddr())
	}
	if addr := a.MetricsAddr(); addr != "" {
		logger.Info("Metrics at /metrics", "address", addr)
	}
	<-ctx.Done()
	logger.Info("Shutting down")
	a.Stop(context.Background())
	return nil
}

// healthcheck asks the API or the worker of this container whether it is ready.
func healthcheck(ctx context.Context, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q is not host:port: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/readyz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %s", res.Status)
	}
	return nil
}

// runDev is the embedded default: one process, nothing to install.
func runDev(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	start := time.Now()
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	cfg.DataDir = dataDir
	token, generated, err := app.AdminToken(cfg)
	if err != nil {
		return err
	}
	cfg.AdminToken = token
	if cfg.SecretKey, err = app.SecretKey(cfg); err != nil {
		return err
	}
	// A developer's receiver runs on this machine: dev reaches it unless told not to.
	if _, set := os.LookupEnv("WEBHOOKS_ALLOW_PRIVATE_TARGETS"); !set {
		cfg.Webhooks.AllowPrivateTargets = true
	}

	_, portText, err := net.SplitHostPort(cfg.TemporalAddress)
	if err != nil {
		return fmt.Errorf("TEMPORAL_ADDRESS %q is not host:port: %w", cfg.TemporalAddress, err)
	}
	port, _ := strconv.Atoi(portText)
	temporalDB := filepath.Join(dataDir, "temporal.db")
	logger.Info("Starting the embedded Temporal server", "database", temporalDB, "port", port)
	attrs := map[string]enumspb.IndexedValueType{}
	for _, sa := range workflows.SearchAttributes {
		attrs[sa.Name] = sa.Type
	}
	srv, err := devserver.Start(devserver.Options{
		DatabaseFile: temporalDB, FrontendPort: port, UIPort: cfg.TemporalUIPort, Namespace: cfg.TemporalNamespace,
		SearchAttributes: attrs, Logger: logger, LogLevel: slog.LevelWarn,
	})
	if err != nil {
		return fmt.Errorf("%w (is another Temporal server using port %d? set TEMPORAL_ADDRESS to another port)", err, port)
	}
	defer srv.Stop()
	cfg.TemporalAddress = srv.FrontendAddress()

	st, err := app.OpenStore(ctx, cfg, logger, true)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := app.Start(ctx, cfg, st, logger, app.Roles{API: true, Worker: true, DevMailbox: cfg.SMTPURL == ""})
	if err != nil {
		return err
	}

	database := "SQLite " + filepath.Join(dataDir, "onboarding.db")
	if cfg.UsesPostgres() {
		database = "Postgres (DATABASE_URL)"
	}
	mailbox := cfg.PublicBaseURL + "/dev/mailbox   (sign in with the admin token)"
	if cfg.SMTPURL != "" {
		mailbox = "SMTP via SMTP_URL (no dev mailbox)"
	}
	tokenNote := "from ONBOARDING_ADMIN_TOKEN or " + filepath.Join(dataDir, "admin-token")
	if generated {
		tokenNote = "generated and saved in " + filepath.Join(dataDir, "admin-token")
	}
	fmt.Printf(`
CSP onboarding is running (ready in %s).

  API          %s            (listening on %s)
  Temporal UI  http://%s
  Temporal     %s  namespace %q
  Mailbox      %s
  Database     %s
  Admin token  %s
               (%s)

Next: create a provider and a reseller —
  curl -s -X POST %s/v1/admin/partners -H "Authorization: Bearer %s" \
       -H 'Content-Type: application/json' \
       -d '{"name":"Contoso Distribution","type":"indirect_provider","contact_email":"ops@contoso.example"}'
The README walks through the whole invitation flow. Press Ctrl-C to stop; everything is kept in %s.

`, time.Since(start).Round(time.Millisecond), cfg.PublicBaseURL, a.HTTPAddr(), srv.UIAddress(), srv.FrontendAddress(), cfg.TemporalNamespace,
		mailbox, database, token, tokenNote, cfg.PublicBaseURL, token, dataDir)

	<-ctx.Done()
	logger.Info("Stopping: draining requests, stopping the worker and the Temporal server")
	a.Stop(context.Background())
	return nil
}
