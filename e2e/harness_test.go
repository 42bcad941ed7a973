// Package e2e drives the product as a partner and a customer would: over the
// real HTTP API, with an in-process Temporal server, the real Postgres (or
// SQLite) database and a real SMTP server inside the test.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/csp-onboarding/onboarding/app"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/devserver"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/workflows"
)

const adminToken = "e2e-admin-token-7d1f0c"

// temporalServer is shared by the tests of this package: starting one takes a second.
var temporalServer *devserver.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onboarding-e2e-temporal")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	temporalServer, err = startTemporal(filepath.Join(dir, "temporal.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start embedded Temporal:", err)
		os.Exit(1)
	}
	code := m.Run()
	temporalServer.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func startTemporal(dbFile string) (*devserver.Server, error) {
	attrs := map[string]enumspb.IndexedValueType{}
	for _, sa := range workflows.SearchAttributes {
		attrs[sa.Name] = sa.Type
	}
	return devserver.Start(devserver.Options{DatabaseFile: dbFile, Namespace: "default", SearchAttributes: attrs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LogLevel: slog.LevelError})
}

// product is one running API + worker with its own task queue and database.
type product struct {
	t      *testing.T
	base   string
	app    *app.App
	store  *store.Store
	smtp   *mailtest.Server
	logs   *syncBuffer
	config config.Config
	// seenLinks are personal links a test already used.
	seenLinks []string
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startProduct runs the product's own wiring (app.Start) against Postgres.
func startProduct(t *testing.T) *product {
	t.Helper()
	return startProductWith(t, nil)
}

// startProductWith is startProduct with the configuration adjusted first.
func startProductWith(t *testing.T, adjust func(*config.Config)) *product {
	t.Helper()
	st, dbURL := storetest.NewWithURL(t, migrations.Postgres)
	smtpServer, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = smtpServer.Close() })
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.SMTPURL = smtpServer.URL()
	cfg.TemporalAddress = temporalServer.FrontendAddress()
	cfg.TemporalTaskQueue = "e2e-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	cfg.AdminToken = adminToken
	// The tests drive many requests from one key and one address on purpose;
	// the limits have their own tests (api.TestRateLimitsAnswer429WithRetryAfter).
	cfg.RateLimits = config.RateLimits{}
	cfg.SecretKey = secret.NewKey()
	if adjust != nil {
		adjust(&cfg)
	}
	return runProduct(t, cfg, st, smtpServer)
}

func runProduct(t *testing.T, cfg config.Config, st *store.Store, smtpServer *mailtest.Server) *product {
	t.Helper()
	port := freePort(t)
	cfg.HTTPAddr = "127.0.0.1:" + port
	cfg.PublicBaseURL = "http://127.0.0.1:" + port
	cfg.MetricsAddr = "127.0.0.1:0"
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Start(context.Background(), cfg, st, logger, app.Roles{API: true, Worker: true, DevMailbox: cfg.SMTPURL == ""})
	if err != nil {
		t.Fatalf("start the product: %v", err)
	}
	p := &product{t: t, base: cfg.PublicBaseURL, app: a, store: st, smtp: smtpServer, logs: logs, config: cfg}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return p
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// response is an HTTP answer with its JSON body decoded.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r response) str(key string) string {
	v, _ := r.json[key].(string)
	return v
}

// call sends a request; body may be nil, a string (sent as is) or a value (JSON).
func (p *product) call(method, path, bearer string, body any, headers ...string) response {
	p.t.Helper()
	r, err := p.try(method, path, bearer, body, headers...)
	if err != nil {
		p.t.Fatal(err)
	}
	return r
}

// try is call for goroutines other than the test's: it returns the error.
func (p *product) try(method, path, bearer string, body any, headers ...string) (response, error) {
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		reader = bytes.NewReader(raw)
	}
	u := p.base + path
	if strings.HasPrefix(path, "http") {
		u = path
	}
	req, err := http.NewRequest(method, u, reader)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, body: raw}
	_ = json.Unmarshal(raw, &out.json)
	return out, nil
}

// must asserts a status and returns the answer.
func (p *product) must(status int, r response) response {
	p.t.Helper()
	if r.status != status {
		p.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

type partner struct {
	id, key string
}

func (p *product) createPartner(name, typ string, directBill bool) partner {
	p.t.Helper()
	r := p.must(201, p.call("POST", "/v1/admin/partners", adminToken, map[string]any{
		"name": name, "type": typ, "direct_bill": directBill, "contact_email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@partners.example",
	}))
	if !strings.HasPrefix(r.str("api_key"), "csp_key_") {
		p.t.Fatalf("no api key in %s", r.body)
	}
	return partner{id: r.str("id"), key: r.str("api_key")}
}

// activePartnership runs the partnership process to active.
func (p *product) activePartnership(provider, reseller partner) {
	p.t.Helper()
	ps := p.must(202, p.call("POST", "/v1/partnerships", provider.key, map[string]any{"reseller_id": reseller.id}))
	if ps.str("status") != "invited" {
		p.t.Fatalf("partnership: %s", ps.body)
	}
	acc := p.must(200, p.call("POST", "/v1/partnerships/"+ps.str("id")+"/accept", reseller.key, nil))
	if acc.str("status") != "active" {
		p.t.Fatalf("accept: %s", acc.body)
	}
	p.eventually("partnership active in the database", func() bool {
		r := p.call("GET", "/v1/partnerships/"+ps.str("id"), reseller.key, nil)
		return r.str("status") == "active"
	})
	saveHistory(p.t, p.app.Temporal, workflows.PartnershipWorkflowID(ps.str("id")), "partnership-accepted-round2.json")
}

func (p *product) eventually(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("timed out waiting for %s", what)
}

var invitationLink = regexp.MustCompile(`http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]+`)
