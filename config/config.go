// Package config reads every setting of the product from the environment.
// Each field has a default, so the embedded default needs no variable at all;
// the README lists the same table.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of one onboarding process.
type Config struct {
	HTTPAddr      string // ONBOARDING_HTTP_ADDR
	MetricsAddr   string // ONBOARDING_METRICS_ADDR: /metrics on its own listener ("off" for none)
	PublicBaseURL string // PUBLIC_BASE_URL: base of the personal links in e-mails
	AdminToken    string // ONBOARDING_ADMIN_TOKEN: operator token for /v1/admin
	DataDir       string // ONBOARDING_DATA_DIR: SQLite files of the embedded default
	DatabaseURL   string // DATABASE_URL: postgres://… ; empty means SQLite under DataDir
	// MigrateDatabaseURL is the tables' owner for `onboarding migrate`
	// (MIGRATE_DATABASE_URL); DATABASE_URL is then the app's own role.
	MigrateDatabaseURL string
	// DBAppRole is the Postgres role `migrate` grants the app's rights to
	// (ONBOARDING_DB_APP_ROLE): no UPDATE, DELETE or TRUNCATE on consent records.
	DBAppRole string

	TemporalAddress   string // TEMPORAL_ADDRESS
	TemporalNamespace string // TEMPORAL_NAMESPACE
	TemporalTaskQueue string // TEMPORAL_TASK_QUEUE
	TemporalTLSCert   string // TEMPORAL_TLS_CERT: client certificate file (mTLS)
	TemporalTLSKey    string // TEMPORAL_TLS_KEY
	TemporalTLSCA     string // TEMPORAL_TLS_CA: CA bundle; setting any TLS variable enables TLS
	TemporalTLSServer string // TEMPORAL_TLS_SERVER_NAME
	TemporalUIPort    int    // TEMPORAL_UI_PORT: Web UI of the embedded server (dev only)

	SMTPURL            string        // SMTP_URL: smtp[s]://user:pass@host:port[?tls=required|none]; empty keeps mail in the outbox
	SMTPTLSCA          string        // SMTP_TLS_CA: PEM file of a private CA the relay's certificate is verified against
	SMTPConnectTimeout time.Duration // SMTP_CONNECT_TIMEOUT: connect, and each reply of the relay
	SMTPSendTimeout    time.Duration // SMTP_SEND_TIMEOUT: the whole exchange of one e-mail
	MailGiveUp         time.Duration // MAIL_GIVE_UP: how long an e-mail is retried before it counts as failed
	MailFrom           string        // MAIL_FROM
	OperatorEmail      string        // ONBOARDING_OPERATOR_EMAIL: where enrollment reviews are asked for

	// SecretKey seals personal links while their e-mail is pending, and
	// webhook signing secrets (ONBOARDING_SECRET_KEY, 32 bytes in base64); SecretKeyOld are earlier
	// keys still accepted for opening (ONBOARDING_SECRET_KEY_OLD, comma-separated).
	SecretKey    string
	SecretKeyOld string

	// AllowConsentAttestation lets a partner attest the customer's consent
	// instead of the customer confirming it (ONBOARDING_ALLOW_CONSENT_ATTESTATION).
	AllowConsentAttestation bool

	// WorkerStopTimeout is how long a stopping worker (SIGTERM) lets its
	// in-flight activities finish before it exits (WORKER_STOP_TIMEOUT).
	WorkerStopTimeout time.Duration

	Webhooks Webhooks

	Microsoft Microsoft // MICROSOFT_*: GDAP at Microsoft (config/microsoft.go)

	PartnerCenter PartnerCenter // PARTNER_CENTER_*: the Partner Center API and webhooks (config/partnercenter.go)

	LogLevel  string // LOG_LEVEL: debug, info, warn, error
	LogFormat string // LOG_FORMAT: text or json (json by default outside dev)

	// StartSweepEvery is how often the API looks for onboardings whose
	// workflow start was never confirmed, and how old such a start must be
	// (ONBOARDING_START_SWEEP).
	StartSweepEvery time.Duration

	RateLimits RateLimits

	Timing Timing

	Bulk Bulk // BULK_*: bulk jobs (config/bulk.go)
}

// RateLimits are token buckets: Rate requests per second on average, Burst
// at once. A zero Rate turns that limit off.
type RateLimits struct {
	PerKey      Rate // ONBOARDING_RATE_PER_KEY, _BURST: /v1 requests per API key
	PerAddr     Rate // ONBOARDING_RATE_PER_ADDR, _BURST: /v1 and /webhooks/… requests per client address
	LinkPerAddr Rate // ONBOARDING_RATE_LINK_PER_ADDR, _BURST: customer-link answers (POST /i/…, /c/…) per client address
}

// Rate is one token bucket.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Timing holds the waits of the processes. Workflows receive a copy at start,
// so changing a value never alters a running onboarding.
type Timing struct {
	InvitationReminders  []time.Duration // INVITATION_REMINDERS, e.g. "72h,168h"
	InvitationExpiry     time.Duration   // INVITATION_EXPIRY
	PartnershipReminders []time.Duration // PARTNERSHIP_REMINDERS
	PartnershipExpiry    time.Duration   // PARTNERSHIP_EXPIRY
	ConsentReminders     []time.Duration // CONSENT_REMINDERS
	ConsentExpiry        time.Duration   // CONSENT_EXPIRY
	EnrollmentReminder   time.Duration   // ENROLLMENT_REMINDER: operators reminded after
	EnrollmentEscalation int             // ENROLLMENT_ESCALATION_BUSINESS_DAYS: escalated after
	TenantRequestRemind  []time.Duration // TENANT_REQUEST_REMINDERS
	TenantRequestExpiry  time.Duration   // TENANT_REQUEST_EXPIRY
	// PartnerCenterFirstPoll is the first wait before Partner Center is read
	// again for a customer's acceptance at Microsoft; it doubles up to 4
	// hours. A webhook wakes the wait at once (PARTNER_CENTER_FIRST_POLL).
	PartnerCenterFirstPoll time.Duration
}

// Webhooks configures outbound webhook delivery.
type Webhooks struct {
	// AllowPrivateTargets lets endpoints resolve to loopback, private and
	// link-local addresses (self-hosting, tests): WEBHOOKS_ALLOW_PRIVATE_TARGETS.
	AllowPrivateTargets bool
	Timeout             time.Duration   // WEBHOOKS_TIMEOUT: one attempt
	RetrySchedule       []time.Duration // WEBHOOKS_RETRY_SCHEDULE: waits before each retry
	DisableAfter        time.Duration   // WEBHOOKS_DISABLE_AFTER: an endpoint failing this long is disabled
	// WatchPoll: how often a failing endpoint's view in the Temporal UI reads
	// its state without being signalled (WEBHOOKS_WATCH_POLL).
	WatchPoll time.Duration
}

const day = 24 * time.Hour

// Default is the configuration with no variable set.
func Default() Config {
	return Config{
		// Loopback unless told otherwise: the dev mailbox and a fresh
		// install must not be reachable from the network by accident.
		HTTPAddr:           "127.0.0.1:8080",
		MetricsAddr:        "127.0.0.1:9090",
		PublicBaseURL:      "http://localhost:8080",
		DataDir:            "./data",
		TemporalAddress:    "127.0.0.1:7233",
		TemporalNamespace:  "default",
		TemporalTaskQueue:  "onboarding",
		TemporalUIPort:     8233,
		MailFrom:           "CSP Onboarding <onboarding@localhost>",
		SMTPConnectTimeout: 10 * time.Second,
		SMTPSendTimeout:    time.Minute,
		MailGiveUp:         day,
		OperatorEmail:      "operators@localhost",
		LogLevel:           "info",
		WorkerStopTimeout:  30 * time.Second,
		Webhooks: Webhooks{
			Timeout: 10 * time.Second,
			RetrySchedule: []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
				10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour},
			DisableAfter: 3 * day,
			WatchPoll:    15 * time.Minute,
		},
		StartSweepEvery: time.Minute,
		Microsoft:       defaultMicrosoft(),
		PartnerCenter:   defaultPartnerCenter(),
		Bulk:            defaultBulk(),
		RateLimits: RateLimits{
			PerKey:      Rate{PerSecond: 20, Burst: 100},
			PerAddr:     Rate{PerSecond: 50, Burst: 200},
			LinkPerAddr: Rate{PerSecond: 1, Burst: 20},
		},
		Timing: Timing{
			InvitationReminders:    []time.Duration{3 * day, 7 * day},
			InvitationExpiry:       30 * day,
			PartnershipReminders:   []time.Duration{3 * day},
			PartnershipExpiry:      14 * day,
			ConsentReminders:       []time.Duration{3 * day, 7 * day},
			ConsentExpiry:          14 * day,
			EnrollmentReminder:     2 * day,
			EnrollmentEscalation:   5,
			TenantRequestRemind:    []time.Duration{2 * day},
			TenantRequestExpiry:    7 * day,
			PartnerCenterFirstPoll: 2 * time.Minute,
		},
	}
}

// FromEnv overlays the environment on Default. It fails on values it cannot
// read rather than silently keeping a default the operator did not want.
func FromEnv() (Config, error) {
	return fromLookup(os.LookupEnv)
}

func fromLookup(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	var errs []string
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			*dst = strings.TrimSpace(v)
		}
	}
	str("ONBOARDING_HTTP_ADDR", &c.HTTPAddr)
	str("ONBOARDING_METRICS_ADDR", &c.MetricsAddr)
	str("PUBLIC_BASE_URL", &c.PublicBaseURL)
	str("ONBOARDING_ADMIN_TOKEN", &c.AdminToken)
	str("ONBOARDING_DATA_DIR", &c.DataDir)
	str("DATABASE_URL", &c.DatabaseURL)
	str("MIGRATE_DATABASE_URL", &c.MigrateDatabaseURL)
	str("ONBOARDING_DB_APP_ROLE", &c.DBAppRole)
	str("TEMPORAL_ADDRESS", &c.TemporalAddress)
	str("TEMPORAL_NAMESPACE", &c.TemporalNamespace)
	str("TEMPORAL_TASK_QUEUE", &c.TemporalTaskQueue)
	str("TEMPORAL_TLS_CERT", &c.TemporalTLSCert)
	str("TEMPORAL_TLS_KEY", &c.TemporalTLSKey)
	str("TEMPORAL_TLS_CA", &c.TemporalTLSCA)
	str("TEMPORAL_TLS_SERVER_NAME", &c.TemporalTLSServer)
	str("SMTP_URL", &c.SMTPURL)
	str("SMTP_TLS_CA", &c.SMTPTLSCA)
	str("ONBOARDING_SECRET_KEY", &c.SecretKey)
	str("ONBOARDING_SECRET_KEY_OLD", &c.SecretKeyOld)
	str("MAIL_FROM", &c.MailFrom)
	str("ONBOARDING_OPERATOR_EMAIL", &c.OperatorEmail)
	str("LOG_LEVEL", &c.LogLevel)
	str("LOG_FORMAT", &c.LogFormat)
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	errs = append(errs, c.Microsoft.fromLookup(lookup)...)
	errs = append(errs, c.PartnerCenter.fromLookup(lookup)...)

	if v, ok := lookup("TEMPORAL_UI_PORT"); ok && v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			errs = append(errs, fmt.Sprintf("TEMPORAL_UI_PORT=%q is not a port number", v))
		} else {
			c.TemporalUIPort = p
		}
	}
	if v, ok := lookup("ONBOARDING_ALLOW_CONSENT_ATTESTATION"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("ONBOARDING_ALLOW_CONSENT_ATTESTATION=%q must be true or false", v))
		}
		c.AllowConsentAttestation = b
	}
	if v, ok := lookup("WEBHOOKS_ALLOW_PRIVATE_TARGETS"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("WEBHOOKS_ALLOW_PRIVATE_TARGETS=%q must be true or false", v))
		}
		c.Webhooks.AllowPrivateTargets = b
	}
	if v, ok := lookup("ENROLLMENT_ESCALATION_BUSINESS_DAYS"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 60 {
			errs = append(errs, fmt.Sprintf("ENROLLMENT_ESCALATION_BUSINESS_DAYS=%q must be a whole number from 1 to 60", v))
		} else {
			c.Timing.EnrollmentEscalation = n
		}
	}
	durations := func(name string, dst *[]time.Duration) {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		var out []time.Duration
		for _, part := range strings.Split(v, ",") {
			d, err := ParseDuration(strings.TrimSpace(part))
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: each item must be a positive duration such as 72h or 3d", name, v))
				return
			}
			out = append(out, d)
		}
		*dst = out
	}
	duration := func(name string, dst *time.Duration) {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		d, err := ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q must be a positive duration such as 720h or 30d", name, v))
			return
		}
		*dst = d
	}
	duration("ONBOARDING_START_SWEEP", &c.StartSweepEvery)
	rate := func(name string, dst *Rate) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 {
				errs = append(errs, fmt.Sprintf("%s=%q must be requests per second (0 turns the limit off)", name, v))
			} else {
				dst.PerSecond = f
			}
		}
		if v, ok := lookup(name + "_BURST"); ok && strings.TrimSpace(v) != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				errs = append(errs, fmt.Sprintf("%s_BURST=%q must be a whole number of requests, at least 1", name, v))
			} else {
				dst.Burst = n
			}
		}
	}
	rate("ONBOARDING_RATE_PER_KEY", &c.RateLimits.PerKey)
	rate("ONBOARDING_RATE_PER_ADDR", &c.RateLimits.PerAddr)
	rate("ONBOARDING_RATE_LINK_PER_ADDR", &c.RateLimits.LinkPerAddr)
	durations("INVITATION_REMINDERS", &c.Timing.InvitationReminders)
	duration("INVITATION_EXPIRY", &c.Timing.InvitationExpiry)
	duration("PARTNER_CENTER_FIRST_POLL", &c.Timing.PartnerCenterFirstPoll)
	durations("PARTNERSHIP_REMINDERS", &c.Timing.PartnershipReminders)
	duration("PARTNERSHIP_EXPIRY", &c.Timing.PartnershipExpiry)
	durations("CONSENT_REMINDERS", &c.Timing.ConsentReminders)
	duration("CONSENT_EXPIRY", &c.Timing.ConsentExpiry)
	duration("ENROLLMENT_REMINDER", &c.Timing.EnrollmentReminder)
	durations("TENANT_REQUEST_REMINDERS", &c.Timing.TenantRequestRemind)
	duration("TENANT_REQUEST_EXPIRY", &c.Timing.TenantRequestExpiry)
	duration("WORKER_STOP_TIMEOUT", &c.WorkerStopTimeout)
	duration("WEBHOOKS_TIMEOUT", &c.Webhooks.Timeout)
	durations("WEBHOOKS_RETRY_SCHEDULE", &c.Webhooks.RetrySchedule)
	duration("WEBHOOKS_DISABLE_AFTER", &c.Webhooks.DisableAfter)
	duration("WEBHOOKS_WATCH_POLL", &c.Webhooks.WatchPoll)
	duration("SMTP_CONNECT_TIMEOUT", &c.SMTPConnectTimeout)
	duration("SMTP_SEND_TIMEOUT", &c.SMTPSendTimeout)
	duration("MAIL_GIVE_UP", &c.MailGiveUp)
	errs = append(errs, c.Bulk.fromLookup(lookup)...)

	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// ParseDuration accepts Go durations plus a whole-day suffix ("30d"), because
// onboarding waits are spoken of in days.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("invalid day count %q", s)
		}
		return time.Duration(days) * day, nil
	}
	return time.ParseDuration(s)
}

// MinAdminTokenLength is the shortest operator token `api` accepts.
const MinAdminTokenLength = 32

// CheckAdminToken refuses a guessable operator token. An empty one is
// allowed (the admin routes then refuse everything); `dev` generates its own.
func (c Config) CheckAdminToken() error {
	t := c.AdminToken
	switch {
	case t == "":
		return nil
	case strings.Contains(strings.ToLower(t), "change-me"), len(t) < MinAdminTokenLength:
		return fmt.Errorf("ONBOARDING_ADMIN_TOKEN must be a random secret of at least %d characters (for example: openssl rand -base64 32)", MinAdminTokenLength)
	}
	return nil
}

// UsesPostgres tells whether the app database is Postgres (else embedded SQLite).
func (c Config) UsesPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// TemporalTLSEnabled tells whether any TLS setting was given.
func (c Config) TemporalTLSEnabled() bool {
	return c.TemporalTLSCert != "" || c.TemporalTLSKey != "" || c.TemporalTLSCA != "" || c.TemporalTLSServer != ""
}
