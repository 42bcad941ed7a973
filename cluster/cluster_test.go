package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/cluster"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
)

const adminToken = "cluster-test-admin-token-5b9e2f7a0c41d8e3"

// upCluster runs the production topology for one test: a Temporal server
// process on Postgres, two API and two worker processes, one app database.
func upCluster(t *testing.T) (*cluster.Cluster, *mailtest.Server) {
	t.Helper()
	if testing.Short() {
		t.Skip("the cluster test builds and runs the Temporal server; skipped with -short")
	}
	pgURL := os.Getenv("TEST_DATABASE_URL")
	if pgURL == "" {
		pgURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	pg, err := cluster.ParsePostgres(pgURL)
	require.NoError(t, err)
	if conn, err := pgx.Connect(context.Background(), pg.URL("postgres")); err != nil {
		fmt.Fprintf(os.Stderr, "\n!!! SKIPPING the cluster tests: Postgres is not reachable at %s:%s (%v)\n\n", pg.Host, pg.Port, err)
		t.Skipf("Postgres unreachable: %v", err)
	} else {
		conn.Close(context.Background())
	}
	smtp, err := mailtest.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = smtp.Close() })

	root, err := cluster.RepoRoot(".")
	require.NoError(t, err)
	dir := t.TempDir()
	opts := cluster.Options{
		RepoRoot: root, Dir: dir, BinDir: root + "/bin", Postgres: pg,
		Name: fmt.Sprintf("ct_%d", time.Now().UnixNano()), APIs: 2, Workers: 2, AdminToken: adminToken,
		// Every simulated customer and partner comes from one loopback address:
		// the per-address and per-key limits (tested in api/) are off here.
		Env: []string{"SMTP_URL=" + smtp.URL(), "WORKER_STOP_TIMEOUT=20s", "LOG_LEVEL=info",
			"ONBOARDING_RATE_PER_KEY=0", "ONBOARDING_RATE_PER_ADDR=0", "ONBOARDING_RATE_LINK_PER_ADDR=0"},
		Progress: testWriter{t},
	}
	// Registered first, so it runs last: the processes' logs of a failed test.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, f := range logs {
			if b, err := os.ReadFile(f); err == nil {
				t.Logf("---- tail of %s ----\n%s", filepath.Base(f), tail(string(b), 4000))
			}
		}
	})
	c, err := cluster.Up(context.Background(), opts)
	t.Cleanup(func() {
		if c != nil {
			c.Down()
			if err := c.DropDatabases(context.Background()); err != nil {
				t.Logf("drop databases: %v", err)
			}
		}
	})
	require.NoError(t, err)
	return c, smtp
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client calls one API replica.
type client struct {
	base string
	http *http.Client
}

type answer struct {
	status int
	body   []byte
	json   map[string]any
}

func (a answer) str(k string) string { s, _ := a.json[k].(string); return s }

func (c client) call(ctx context.Context, method, path, bearer string, body any, headers ...string) (answer, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return answer{}, err
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
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := answer{status: res.StatusCode, body: raw}
	_ = json.Unmarshal(raw, &out.json)
	return out, nil
}

// observed counts what the API answered while faults happened.
type observed struct {
	unavailable atomic.Int64 // 503 problem answers: fine while Temporal is down
	serverError atomic.Int64 // any other 5xx: never fine
	hung        atomic.Int64 // no answer within the client's timeout
	mu          sync.Mutex
	examples    []string
}

func (o *observed) note(what string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.examples) < 10 {
		o.examples = append(o.examples, what)
	}
}

// retrying sends a request as a careful partner would: again after a 503 or a
// lost connection, with the same Idempotency-Key where it has one.
func (c client) retrying(ctx context.Context, o *observed, method, path, bearer string, body any, headers ...string) (answer, error) {
	delay := 200 * time.Millisecond
	for {
		a, err := c.call(ctx, method, path, bearer, body, headers...)
		switch {
		case err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			o.hung.Add(1)
			o.note(method + " " + path + ": " + err.Error())
		case err != nil && ctx.Err() != nil:
			return a, err
		case err == nil && a.status == http.StatusServiceUnavailable:
			o.unavailable.Add(1)
		case err == nil && a.status >= 500:
			o.serverError.Add(1)
			o.note(fmt.Sprintf("%s %s: %d %s", method, path, a.status, a.body))
			return a, nil
		case err == nil:
			return a, nil
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 3*time.Second)
	}
}

func newClients(c *cluster.Cluster) []client {
	var out []client
	for _, s := range c.APIs {
		// A bounded wait: a request that hangs is a finding, not a stuck test.
		out = append(out, client{base: s.BaseURL(), http: &http.Client{Timeout: 20 * time.Second}})
	}
	return out
}

var (
	invitationToken = regexp.MustCompile(`/i/([A-Za-z0-9_-]{43})`)
	consentToken    = regexp.MustCompile(`/c/([A-Za-z0-9_-]{43})`)
)

func tokenIn(t *testing.T, re *regexp.Regexp, m mailtest.Message) string {
	t.Helper()
	match := re.FindStringSubmatch(m.Body)
	require.NotNil(t, match, "no personal link in the e-mail %q", m.Subject)
	return match[1]
}

type partner struct{ id, key string }

func createPartner(ctx context.Context, t *testing.T, api client, name, typ string, directBill bool) partner {
	t.Helper()
	a, err := api.call(ctx, "POST", "/v1/admin/partners", adminToken, map[string]any{
		"name": name, "type": typ, "direct_bill": directBill, "contact_email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@partners.example"})
	require.NoError(t, err)
	require.Equal(t, 201, a.status, string(a.body))
	return partner{id: a.str("id"), key: a.str("api_key")}
}

// eventually polls until cond holds.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// activePartnership: the provider invites on one replica, the reseller
// accepts on the other.
func activePartnership(ctx context.Context, t *testing.T, apis []client, provider, reseller partner) {
	t.Helper()
	ps, err := apis[0].call(ctx, "POST", "/v1/partnerships", provider.key, map[string]any{"reseller_id": reseller.id})
	require.NoError(t, err)
	require.Equal(t, 202, ps.status, string(ps.body))
	acc, err := apis[1].call(ctx, "POST", "/v1/partnerships/"+ps.str("id")+"/accept", reseller.key, nil)
	require.NoError(t, err)
	require.Equal(t, 200, acc.status, string(acc.body))
	eventually(t, 30*time.Second, "partnership active", func() bool {
		g, err := apis[0].call(ctx, "GET", "/v1/partnerships/"+ps.str("id"), reseller.key, nil)
		return err == nil && g.str("status") == "active"
	})
}

func eventTypes(a answer) []string {
	var out []string
	events, _ := a.json["events"].([]any)
	for _, e := range events {
		if m, ok := e.(map[string]any); ok {
			out = append(out, fmt.Sprint(m["type"]))
		}
	}
	return out
}

// TestClusterJourneys drives an invitation with delegated admin and an
// extension with consent through both API replicas alternately, on the
// production topology.
func TestClusterJourneys(t *testing.T) {
	c, smtp := upCluster(t)
	ctx := context.Background()
	apis := newClients(c)
	provider := createPartner(ctx, t, apis[0], "Contoso Distribution", "indirect_provider", false)
	reseller := createPartner(ctx, t, apis[1], "Fabrikam", "reseller", true)
	activePartnership(ctx, t, apis, provider, reseller)

	// Invitation with delegated admin: created on replica 1, accepted on 2, read on 1.
	inv, err := apis[0].call(ctx, "POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Northwind", "email": "admin@northwind.example"},
		"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 90, "auto_extend": false},
	}, "Idempotency-Key", "cluster-northwind")
	require.NoError(t, err)
	require.Equal(t, 202, inv.status, string(inv.body))
	m, err := smtp.WaitFor("admin@northwind.example", "invites you", time.Minute)
	require.NoError(t, err)
	accepted, err := apis[1].call(ctx, "POST", "/i/"+tokenIn(t, invitationToken, m)+"/accept", "", nil, "Accept", "application/json")
	require.NoError(t, err)
	require.Equal(t, 200, accepted.status, string(accepted.body))
	var got answer
	eventually(t, time.Minute, "invitation completed", func() bool {
		got, err = apis[0].call(ctx, "GET", "/v1/invitations/"+inv.str("id"), reseller.key, nil)
		return err == nil && got.str("status") == "completed"
	})
	require.Equal(t, []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}, eventTypes(got))
	rels, err := apis[1].call(ctx, "GET", "/v1/relationships", provider.key, nil)
	require.NoError(t, err)
	items := rels.json["items"].([]any)
	require.Len(t, items, 1)
	require.Equal(t, true, items[0].(map[string]any)["delegated_admin"])

	// The extension with consent: enrollment approved on one replica, the
	// customer and the extension on the other, consent on the first.
	enr, err := apis[0].call(ctx, "POST", "/v1/enrollment", reseller.key, nil)
	require.NoError(t, err)
	require.Less(t, enr.status, 300, string(enr.body))
	appr, err := apis[1].call(ctx, "POST", "/v1/admin/enrollments/"+reseller.id+"/approve", adminToken, map[string]any{})
	require.NoError(t, err)
	require.Equal(t, 200, appr.status, string(appr.body))
	eventually(t, 30*time.Second, "enrollment approved", func() bool {
		me, err := apis[0].call(ctx, "GET", "/v1/me", reseller.key, nil)
		e, _ := me.json["enrollment"].(map[string]any)
		return err == nil && e["status"] == "approved"
	})
	cust, err := apis[1].call(ctx, "POST", "/v1/customers", reseller.key, map[string]any{
		"company_name": "Woodgrove Bank", "domain": "woodgrove.example", "contact_email": "admin@woodgrove.example",
		"bill_to": map[string]any{"company_name": "Woodgrove Bank", "address_line1": "1 Main Street", "city": "Seattle",
			"postal_code": "98101", "country": "US", "email": "billing@woodgrove.example", "phone": "+1 425 555 0100"}})
	require.NoError(t, err)
	require.Equal(t, 201, cust.status, string(cust.body))
	ext, err := apis[0].call(ctx, "POST", "/v1/relationship-extensions", reseller.key, map[string]any{
		"customer_id": cust.str("id"), "provider_id": provider.id, "share_bill_to": true, "delegated_admin_required": false,
		"consent": map[string]any{"method": "customer_confirmation"}})
	require.NoError(t, err)
	require.Equal(t, 202, ext.status, string(ext.body))
	cm, err := smtp.WaitFor("admin@woodgrove.example", "", time.Minute)
	require.NoError(t, err)
	consent, err := apis[1].call(ctx, "POST", "/c/"+tokenIn(t, consentToken, cm)+"/consent", "", nil, "Accept", "application/json")
	require.NoError(t, err)
	require.Equal(t, 200, consent.status, string(consent.body))
	eventually(t, time.Minute, "extension completed", func() bool {
		got, err = apis[0].call(ctx, "GET", "/v1/relationship-extensions/"+ext.str("id"), reseller.key, nil)
		return err == nil && got.str("status") == "completed"
	})
	custView, err := apis[1].call(ctx, "GET", "/v1/customers/"+cust.str("id"), provider.key, nil)
	require.NoError(t, err)
	require.NotNil(t, custView.json["bill_to"], "the provider sees the bill-to copy after consent: %s", custView.body)

	// Both replicas and both workers are ready; the readiness endpoints work.
	for _, s := range append(append([]*cluster.Service{}, c.APIs...), c.Workers...) {
		require.NoError(t, s.Ready(ctx), s.Name)
	}
}

// TestClusterFaults runs a few hundred invitations while a worker is killed,
// the other stopped gracefully, the Temporal server restarted and the app's
// Postgres sessions terminated. Every onboarding completes exactly once, and
// the API answers 503 problems (never a 500, never a hang) while Temporal is
// down.
func TestClusterFaults(t *testing.T) {
	c, smtp := upCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	apis := newClients(c)
	provider := createPartner(ctx, t, apis[0], "Load Provider", "indirect_provider", false)
	reseller := createPartner(ctx, t, apis[1], "Load Reseller", "reseller", false)
	activePartnership(ctx, t, apis, provider, reseller)

	n := 200
	if v, err := strconv.Atoi(os.Getenv("CLUSTER_ONBOARDINGS")); err == nil && v > 0 {
		n = v
	}
	var o observed
	var created, completed atomic.Int64
	ids := make([]string, n)
	errs := make(chan error, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := oneInvitation(ctx, apis, smtp, &o, reseller, provider, i, ids, &created); err != nil {
					errs <- fmt.Errorf("invitation %d: %w", i, err)
					continue
				}
				completed.Add(1)
			}
		}()
	}

	// The faults, each once the load has reached a point.
	faults := make(chan error, 1)
	var killedAt atomic.Int64 // when worker-1 was killed, UnixNano
	go func() { faults <- injectFaults(ctx, t, c, n, &created, &killedAt) }()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	require.NoError(t, <-faults)
	var failures []string
	for err := range errs {
		failures = append(failures, err.Error())
	}
	require.Empty(t, failures)
	require.EqualValues(t, n, completed.Load())
	t.Logf("API answers during the faults: %d × 503 (a dependency down), %d other 5xx, %d hung", o.unavailable.Load(), o.serverError.Load(), o.hung.Load())
	require.Zero(t, o.serverError.Load(), "5xx other than 503: %v", o.examples)
	require.Zero(t, o.hung.Load(), "requests without an answer: %v", o.examples)

	// Exactly once: one relationship per invitation, one invitation e-mail
	// per customer, every timeline the four expected events.
	conn, err := pgx.Connect(ctx, c.AppDatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var rels, distinct int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT source_id) FROM relationships").Scan(&rels, &distinct))
	require.Equal(t, n, rels, "relationships")
	require.Equal(t, n, distinct, "one relationship per invitation")
	perMessageID := map[string][]time.Time{}
	for _, m := range smtp.Messages() {
		if id := messageID(m.Raw); id != "" {
			perMessageID[id] = append(perMessageID[id], m.ReceivedAt)
		}
	}
	for id, received := range perMessageID {
		if len(received) == 1 {
			continue
		}
		// The one duplicate no SMTP sender can rule out: the kill -9 cut a send
		// after the relay accepted the message and before the outbox recorded
		// it, so the activity's retry sent it again. Anything else is a defect.
		require.Len(t, received, 2, "e-mail %s delivered %d times", id, len(received))
		killed := time.Unix(0, killedAt.Load())
		require.WithinRange(t, received[0], killed.Add(-3*time.Second), killed.Add(time.Second),
			"e-mail %s delivered twice, its first copy at %s, not cut by the SIGKILL at %s", id, received[0].Format(time.RFC3339Nano), killed.Format(time.RFC3339Nano))
		t.Logf("e-mail %s delivered twice: its send was cut by the SIGKILL at %s", id, killed.Format(time.RFC3339Nano))
	}
	for i, id := range ids {
		got, err := apis[i%2].call(ctx, "GET", "/v1/invitations/"+id, reseller.key, nil)
		require.NoError(t, err)
		require.Equal(t, []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}, eventTypes(got), "invitation %d", i)
	}
}

var messageIDHeader = regexp.MustCompile(`(?mi)^Message-ID:\s*(<[^>]+>)`)

func messageID(raw string) string {
	m := messageIDHeader.FindStringSubmatch(raw)
	if m == nil {
		return ""
	}
	return m[1]
}

// oneInvitation creates, accepts (on the other replica) and awaits one
// invitation, retrying through the faults as a partner's script would.
func oneInvitation(ctx context.Context, apis []client, smtp *mailtest.Server, o *observed, reseller, provider partner, i int, ids []string, created *atomic.Int64) error {
	api, other := apis[i%2], apis[(i+1)%2]
	email := fmt.Sprintf("c%d@load.example", i)
	a, err := api.retrying(ctx, o, "POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": fmt.Sprintf("Customer %d", i), "email": email},
	}, "Idempotency-Key", fmt.Sprintf("load-%d", i))
	if err != nil {
		return err
	}
	if a.status != 202 {
		return fmt.Errorf("create: %d %s", a.status, a.body)
	}
	ids[i] = a.str("id")
	created.Add(1)
	m, err := smtp.WaitFor(email, "invites you", 5*time.Minute)
	if err != nil {
		return err
	}
	match := invitationToken.FindStringSubmatch(m.Body)
	if match == nil {
		return fmt.Errorf("no link in %q", m.Body)
	}
	acc, err := other.retrying(ctx, o, "POST", "/i/"+match[1]+"/accept", "", nil, "Accept", "application/json")
	if err != nil {
		return err
	}
	// A retried accept whose first attempt went through finds it decided.
	if acc.status != 200 && acc.status != 409 && acc.status != 410 {
		return fmt.Errorf("accept: %d %s", acc.status, acc.body)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		g, err := api.retrying(ctx, o, "GET", "/v1/invitations/"+ids[i], reseller.key, nil)
		if err != nil {
			return err
		}
		switch g.str("status") {
		case "completed":
			return nil
		case "failed", "expired", "cancelled", "declined":
			return fmt.Errorf("ended %s: %s", g.str("status"), g.body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return errors.New("not completed within 5 minutes")
}

// injectFaults: kill -9 a worker and restart it; stop the other gracefully
// and restart it; restart the Temporal server; terminate the app's Postgres
// sessions — each when the load has passed a fifth more of its invitations.
func injectFaults(ctx context.Context, t *testing.T, c *cluster.Cluster, n int, created, killedAt *atomic.Int64) error {
	at := func(fraction int) error {
		for created.Load() < int64(n*fraction/5) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return nil
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"SIGKILL worker-1 and restart it", func() error {
			killedAt.Store(time.Now().UnixNano())
			if err := c.Workers[0].Kill(); err != nil {
				return err
			}
			time.Sleep(2 * time.Second)
			if err := c.Workers[0].Start(); err != nil {
				return err
			}
			return c.Workers[0].WaitReady(ctx, time.Minute)
		}},
		{"SIGTERM worker-2 (graceful) and restart it", func() error {
			graceful, err := c.Workers[1].Stop(30 * time.Second)
			if err != nil {
				return err
			}
			if !graceful {
				return errors.New("worker-2 did not stop within 30s of SIGTERM (WORKER_STOP_TIMEOUT=20s)")
			}
			if err := c.Workers[1].ExitError(); err != nil {
				return fmt.Errorf("worker-2 exited with %v after SIGTERM", err)
			}
			if err := c.Workers[1].Start(); err != nil {
				return err
			}
			return c.Workers[1].WaitReady(ctx, time.Minute)
		}},
		{"restart the Temporal server", func() error {
			if _, err := c.Temporal.Stop(30 * time.Second); err != nil {
				return err
			}
			// While it is down, readiness says so.
			for _, s := range c.APIs {
				if err := s.Ready(ctx); err == nil {
					return fmt.Errorf("%s reports ready while Temporal is down", s.Name)
				}
			}
			time.Sleep(3 * time.Second)
			if err := c.Temporal.Start(ctx); err != nil {
				return err
			}
			for _, s := range append(append([]*cluster.Service{}, c.APIs...), c.Workers...) {
				if err := s.WaitReady(ctx, time.Minute); err != nil {
					return fmt.Errorf("%s did not recover after Temporal came back: %w", s.Name, err)
				}
			}
			return nil
		}},
		{"terminate the app's Postgres sessions", func() error {
			killed, err := c.TerminateAppSessions(ctx)
			t.Logf("terminated %d app database sessions", killed)
			return err
		}},
	}
	for i, s := range steps {
		if err := at(i + 1); err != nil {
			return err
		}
		t.Logf("fault at %d/%d created: %s", created.Load(), n, s.what)
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}
