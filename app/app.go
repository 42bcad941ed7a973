// Package app assembles the product's parts — database, mail, Temporal
// client, worker and HTTP API — for the `onboarding` subcommands and the
// end-to-end tests, so both run the very same wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/api"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/mail"
	"github.com/csp-onboarding/onboarding/metrics"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/temporalclient"
	"github.com/csp-onboarding/onboarding/webhooks"
	"github.com/csp-onboarding/onboarding/worker"
	"github.com/csp-onboarding/onboarding/workflows"
)

// Roles says which parts this process runs.
type Roles struct {
	API        bool
	Worker     bool
	DevMailbox bool
}

// App is a running set of parts.
type App struct {
	Store    *store.Store
	Temporal client.Client
	Metrics  *metrics.Metrics
	worker   sdkworker.Worker
	webhooks *webhooks.Dispatcher
	http     *http.Server
	listener net.Listener
	// stopSweeper ends the sweep of unconfirmed workflow starts.
	stopSweeper context.CancelFunc
	// metricsHTTP serves /metrics (and /readyz, /healthz) on its own listener
	// (ONBOARDING_METRICS_ADDR), so the public API port never exposes them.
	metricsHTTP     *http.Server
	metricsListener net.Listener
	logger          *slog.Logger
	// simulator serves Microsoft's side with MICROSOFT_MODE=simulated (app/microsoft.go).
	simulator *http.Server
	// sim is the simulator's state and pcSigner signs its Partner Center
	// webhook deliveries (MICROSOFT_MODE=simulated).
	sim      *simulator.Simulator
	simURL   string
	pcSigner *simulator.WebhookSigner
}

// OpenStore opens (and migrates, when migrate is set) the app database.
func OpenStore(ctx context.Context, cfg config.Config, logger *slog.Logger, migrate bool) (*store.Store, error) {
	opts := store.Options{Logger: logger}
	switch {
	case cfg.UsesPostgres():
		opts.DatabaseURL = cfg.DatabaseURL
	case cfg.DatabaseURL != "":
		return nil, fmt.Errorf("DATABASE_URL must be a postgres:// URL (or unset for the embedded SQLite database)")
	default:
		opts.SQLitePath = filepath.Join(cfg.DataDir, "onboarding.db")
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	if migrate {
		applied, err := st.Migrate(ctx)
		if err != nil {
			_ = st.Close()
			return nil, err
		}
		if len(applied) > 0 {
			logger.Info("Database migrated", "versions", applied, "dialect", st.Dialect())
		}
	}
	return st, nil
}

// NewMailer returns the SMTP sender, or nil to keep mail in the outbox.
func NewMailer(cfg config.Config) (activities.Mailer, error) {
	if cfg.SMTPURL == "" {
		return nil, nil
	}
	return mail.NewSMTPSender(mail.Options{URL: cfg.SMTPURL, From: cfg.MailFrom, CAFile: cfg.SMTPTLSCA,
		ConnectTimeout: cfg.SMTPConnectTimeout, SendTimeout: cfg.SMTPSendTimeout})
}

// Secrets returns the keyring that seals personal links, or nil without
// ONBOARDING_SECRET_KEY. With SMTP_URL every process needs one, so that a
// misconfigured deployment stops at start rather than at its first e-mail.
func Secrets(cfg config.Config) (*secret.Keyring, error) {
	keys, err := secret.NewKeyring(cfg.SecretKey, cfg.SecretKeyOld)
	if err != nil {
		return nil, err
	}
	if keys == nil && cfg.SMTPURL != "" {
		return nil, errors.New("ONBOARDING_SECRET_KEY is required with SMTP_URL: personal links are kept sealed under it until their e-mail is delivered " +
			"(make one with: openssl rand -base64 32; keep it like a password, the same on every api and worker process)")
	}
	return keys, nil
}

// Start runs the chosen roles against an open store.
func Start(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger, roles Roles) (*App, error) {
	keys, err := Secrets(cfg)
	if err != nil {
		return nil, err
	}
	// Parsed by every process, so a wrong SMTP_URL stops any of them at start.
	mailer, err := NewMailer(cfg)
	if err != nil {
		return nil, err
	}
	a := &App{Store: st, logger: logger, Metrics: metrics.New()}
	if cfg, err = a.startMicrosoftSimulator(cfg); err != nil {
		return nil, err
	}
	a.Metrics.RegisterWaiting(st, logger)
	c, err := temporalclient.Dial(ctx, cfg, logger, a.Metrics.TemporalMetrics())
	if err != nil {
		return nil, err
	}
	a.Temporal = c
	if roles.Worker {
		if err := temporalclient.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
			logger.Warn("Could not register the search attributes; UI searches on them will fail until they exist", "error", err)
		}
		if mailer != nil {
			logger.Info("E-mail goes through SMTP", "relay", mailer.(*mail.SMTPSender).Describe(), "give_up_after", cfg.MailGiveUp)
		}
		workflows.MailGiveUp = cfg.MailGiveUp
		acts := activities.New(st, mailer, cfg.PublicBaseURL)
		acts.Metrics = a.Metrics
		acts.Secrets = keys
		// Registered in every mode, so grants started under live or
		// simulated finish after a restart; MICROSOFT_MODE decides new ones.
		acts.GDAP = &activities.GDAP{Store: st, Secrets: keys, Microsoft: cfg.Microsoft, PartnerCenterURL: cfg.PartnerCenter.APIURL}
		a.worker = worker.New(c, cfg.TemporalTaskQueue, acts, cfg.WorkerStopTimeout)
		if err := a.worker.Start(); err != nil {
			c.Close()
			return nil, fmt.Errorf("start the worker: %w", err)
		}
		logger.Info("Worker polling", "task_queue", cfg.TemporalTaskQueue, "namespace", cfg.TemporalNamespace)
		if keys == nil {
			logger.Warn("Webhooks are not delivered: ONBOARDING_SECRET_KEY is not set (signing secrets are sealed under it)")
		} else {
			a.webhooks = webhooks.NewDispatcher(webhooks.Options{Store: st, Keys: keys, Logger: logger, Metrics: a.Metrics.NewWebhooks(),
				Notify: notifier(st, mailer), Schedule: cfg.Webhooks.RetrySchedule, DisableAfter: cfg.Webhooks.DisableAfter,
				Timeout: cfg.Webhooks.Timeout, AllowPrivate: cfg.Webhooks.AllowPrivateTargets,
				Watch: webhooks.TemporalWatch{Client: c, TaskQueue: cfg.TemporalTaskQueue, Poll: cfg.Webhooks.WatchPoll}})
			a.webhooks.Start()
		}
	}
	if cfg.MetricsAddr != "" && cfg.MetricsAddr != "off" {
		l, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			a.Stop(ctx)
			return nil, fmt.Errorf("listen on %s (ONBOARDING_METRICS_ADDR; is another process using it?): %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.Metrics.Handler())
		// A worker has no API: its readiness is here, for every role alike.
		mux.HandleFunc("GET /readyz", a.serveReady)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		a.metricsListener = l
		a.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		go func() {
			if err := a.metricsHTTP.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("Metrics listener stopped", "error", err)
			}
		}()
	}
	if roles.API {
		handler := api.New(api.Deps{Store: st, Temporal: c, Config: cfg, Logger: logger, Metrics: a.Metrics, DevMailbox: roles.DevMailbox, Secrets: keys,
			PartnerCenter: a.partnerCenterWebhooks(cfg, st, c)})
		l, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			a.Stop(ctx)
			return nil, fmt.Errorf("listen on %s (ONBOARDING_HTTP_ADDR; is another process using it?): %w", cfg.HTTPAddr, err)
		}
		a.listener = l
		// Every API replica sweeps: starts are idempotent under their
		// deterministic IDs, so replicas sweeping together do no harm.
		sweepCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		a.stopSweeper = stop
		go api.NewSweeper(api.Deps{Store: st, Temporal: c, Config: cfg, Logger: logger, Metrics: a.Metrics}).Run(sweepCtx, cfg.StartSweepEvery)
		a.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
		go func() {
			if err := a.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("HTTP server stopped", "error", err)
			}
		}()
	}
	return a, nil
}

// Ready reports whether this process can do its work: the app database and
// Temporal both answer. Orchestrators poll it through /readyz.
func (a *App) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if _, err := a.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	return nil
}

// serveReady answers ready or not ready; why goes to the log, not to whoever asks.
func (a *App) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := a.Ready(r.Context()); err != nil {
		a.logger.Warn("Not ready", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"not_ready"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}

// HTTPAddr is the address the API listens on (useful with port 0).
func (a *App) HTTPAddr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// MetricsAddr is the address /metrics is served on ("" when off).
func (a *App) MetricsAddr() string {
	if a.metricsListener == nil {
		return ""
	}
	return a.metricsListener.Addr().String()
}

// Stop drains HTTP requests, stops the worker and closes the client.
func (a *App) Stop(ctx context.Context) {
	if a.stopSweeper != nil {
		a.stopSweeper()
	}
	if a.simulator != nil {
		_ = a.simulator.Close()
	}
	if a.pcSigner != nil {
		a.pcSigner.Close()
	}
	if a.http != nil {
		shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := a.http.Shutdown(shutdownCtx); err != nil {
			a.logger.Warn("HTTP shutdown", "error", err)
		}
		cancel()
	}
	if a.metricsHTTP != nil {
		_ = a.metricsHTTP.Close()
	}
	if a.webhooks != nil {
		a.webhooks.Stop()
	}
	if a.worker != nil {
		a.worker.Stop()
	}
	if a.Temporal != nil {
		a.Temporal.Close()
	}
}

// AdminToken returns the configured operator token, or the one kept in the
// data folder, or a new one saved there, so a restart keeps the same token.
func AdminToken(cfg config.Config) (token string, generated bool, err error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, false, nil
	}
	path := filepath.Join(cfg.DataDir, "admin-token")
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), false, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return "", false, err
	}
	token = "csp_admin_" + randomToken()
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("save the admin token in %s: %w", path, err)
	}
	return token, true, nil
}

// SecretKey returns the configured ONBOARDING_SECRET_KEY, or the one kept in
// the data folder, or a new one saved there (dev), like the admin token.
func SecretKey(cfg config.Config) (string, error) {
	if cfg.SecretKey != "" {
		return cfg.SecretKey, nil
	}
	path := filepath.Join(cfg.DataDir, "secret-key")
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return "", err
	}
	key := secret.NewKey()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save the secret key in %s: %w", path, err)
	}
	return key, nil
}

// notifier e-mails a partner from outside a workflow (the webhook
// dispatcher): through the outbox, sent at once when SMTP is configured.
func notifier(st *store.Store, mailer activities.Mailer) webhooks.Notifier {
	return func(ctx context.Context, key, to, subject, body string) error {
		msg, err := st.QueueMessage(ctx, models.OutboxMessage{Key: key, ToAddr: to, Subject: subject, Body: body}, nil)
		if err != nil || msg.Status != models.OutboxPending {
			return err
		}
		if mailer == nil {
			return st.MarkMessage(ctx, key, models.OutboxHeld, "")
		}
		if err := mailer.Send(ctx, mail.Message{Key: key, To: to, Subject: subject, Text: body}); err != nil {
			return errors.Join(err, st.MarkMessage(ctx, key, models.OutboxPending, err.Error()))
		}
		return st.MarkMessage(ctx, key, models.OutboxSent, "")
	}
}

// NewLogger builds the process logger: text for people (dev), JSON otherwise.
func NewLogger(cfg config.Config, dev bool) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if dev {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func randomToken() string {
	token, _ := secret.New("")
	return token
}
