package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/webhooks"
)

// received is one request the test receiver answered.
type received struct {
	ID, Type, ObjectID string
	Seq                int
	Status             int
	Verified           bool
}

// receiver is a real HTTP endpoint that verifies every message with the
// Standard Webhooks library and answers what answer says.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	secret []string // any of these verifies
	answer func(n int, msg store.WebhookMessage) int
}

func newReceiver(t *testing.T, answer func(n int, msg store.WebhookMessage) int) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var msg store.WebhookMessage
		_ = json.Unmarshal(body, &msg)
		r.mu.Lock()
		verified := false
		for _, s := range r.secret {
			wh, err := standardwebhooks.NewWebhook(s)
			if err == nil && wh.Verify(body, req.Header) == nil {
				verified = true
			}
		}
		n := len(r.got)
		r.mu.Unlock()
		status := http.StatusNoContent
		if r.answer != nil {
			status = r.answer(n, msg)
		}
		r.mu.Lock()
		r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Type: msg.Type, ObjectID: msg.Data.ObjectID, Seq: msg.Data.Seq, Status: status, Verified: verified})
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "answered %d", status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// delivered are the 2xx-answered messages, in arrival order.
func (r *receiver) delivered() []received {
	var out []received
	for _, g := range r.all() {
		if g.Status >= 200 && g.Status < 300 {
			out = append(out, g)
		}
	}
	return out
}

type fixture struct {
	st    *store.Store
	keys  *secret.Keyring
	ctx   context.Context
	seq   map[string]int
	parts int
}

func newFixture(t *testing.T, d migrations.Dialect) *fixture {
	keys, err := secret.NewKeyring(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: storetest.New(t, d), keys: keys, ctx: context.Background(), seq: map[string]int{}}
}

func (f *fixture) partner(t *testing.T, typ string) string {
	f.parts++
	p := models.Partner{ID: fmt.Sprintf("p%d", f.parts), Name: fmt.Sprintf("Partner %d", f.parts), Type: typ,
		ContactEmail: fmt.Sprintf("p%d@example.com", f.parts), APIKeyHash: fmt.Sprintf("h%d", f.parts), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := f.st.CreatePartner(f.ctx, &p); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (f *fixture) invitation(t *testing.T, id, reseller, provider string) {
	inv := models.Invitation{ID: id, ResellerID: reseller, ProviderID: provider, CustomerCompany: "Contoso", CustomerEmail: "it@contoso.example",
		Status: models.InvitationWaitingForCustomer, WorkflowID: "wf-" + id, ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := f.st.CreateInvitation(f.ctx, &inv); err != nil {
		t.Fatal(err)
	}
}

// invitations makes n invitations (inv0 …) and appends events to each.
func (f *fixture) invitations(t *testing.T, reseller, provider string, n int, events ...string) {
	for i := range n {
		id := fmt.Sprintf("inv%d", i)
		f.invitation(t, id, reseller, provider)
		for _, e := range events {
			f.event(t, "invitation", id, e)
		}
	}
}

// event appends the object's next timeline event as RecordProgress does.
func (f *fixture) event(t *testing.T, kind, subject, typ string) {
	f.seq[subject]++
	wrote, err := f.st.RecordEvent(f.ctx, kind, models.OnboardingEvent{SubjectID: subject, Seq: f.seq[subject], Type: typ, At: time.Now()})
	if err != nil || !wrote {
		t.Fatalf("record %s %s: wrote=%v err=%v", subject, typ, wrote, err)
	}
}

// endpoint subscribes a partner's receiver and returns the endpoint and its secret.
func (f *fixture) endpoint(t *testing.T, partner string, r *receiver, events ...string) models.WebhookEndpoint {
	if len(events) == 0 {
		events = []string{"*"}
	}
	e := models.WebhookEndpoint{ID: fmt.Sprintf("whe_%s_%d", partner, time.Now().UnixNano()), PartnerID: partner, URL: r.srv.URL, Events: events, Enabled: true}
	plain := webhooks.NewSecret()
	var err error
	if e.SecretSealed, err = webhooks.SealSecret(f.keys, e.ID, plain); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateWebhookEndpoint(f.ctx, &e); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = append(r.secret, plain)
	r.mu.Unlock()
	return e
}

func (f *fixture) dispatcher(opts webhooks.Options) *webhooks.Dispatcher {
	opts.Store, opts.Keys = f.st, f.keys
	if opts.Schedule == nil {
		opts.Schedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 100 * time.Millisecond}
	}
	opts.AllowPrivate = true // the receivers listen on 127.0.0.1; a test of the refusal passes its own Client
	if opts.Poll == 0 {
		opts.Poll = 10 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	return webhooks.NewDispatcher(opts)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func forEachDialect(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { test(t, newFixture(t, d)) })
	}
}

// TestSignedDeliveriesVerifyWithTheLibrary: an invitation's events reach its
// reseller and its provider, signed so that the Standard Webhooks library
// verifies them; a rotated-out secret keeps verifying beside the new one.
func TestSignedDeliveriesVerifyWithTheLibrary(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
		rr, pr := newReceiver(t, nil), newReceiver(t, nil)
		f.endpoint(t, reseller, rr)
		f.endpoint(t, provider, pr, "invitation.completed")
		f.invitation(t, "inv1", reseller, provider)
		for _, e := range []string{"invitation_created", "invitation_sent", "reminder_sent", "customer_accepted", "relationship_created"} {
			f.event(t, "invitation", "inv1", e)
		}
		d := f.dispatcher(webhooks.Options{})
		d.Start()
		defer d.Stop()
		want := []string{"invitation.created", "invitation.sent", "invitation.accepted", "invitation.completed", "relationship.created"}
		eventually(t, "the reseller's deliveries", func() bool { return len(rr.delivered()) == len(want) })
		eventually(t, "the provider's delivery", func() bool { return len(pr.delivered()) == 1 })
		for i, g := range rr.delivered() {
			if g.Type != want[i] || !g.Verified || g.ObjectID != "inv1" {
				t.Errorf("delivery %d: %+v, want %s verified", i, g, want[i])
			}
		}
		if g := pr.delivered()[0]; g.Type != "invitation.completed" || !g.Verified {
			t.Errorf("provider got %+v", g)
		}
		if got := pr.all(); len(got) != 1 {
			t.Errorf("the provider subscribed to invitation.completed only, got %d messages", len(got))
		}

		// A rotation: the new secret signs, and the old one still verifies.
		eps, _, err := f.st.ListWebhookEndpoints(f.ctx, reseller, store.Page{Limit: 10})
		if err != nil || len(eps) != 1 {
			t.Fatal(eps, err)
		}
		old := eps[0]
		newSecret := webhooks.NewSecret()
		until := time.Now().Add(webhooks.PreviousSecretGrace)
		old.PreviousSecretSealed, old.PreviousSecretUntil = old.SecretSealed, &until
		if old.SecretSealed, err = webhooks.SealSecret(f.keys, old.ID, newSecret); err != nil {
			t.Fatal(err)
		}
		if err := f.st.SaveWebhookEndpoint(f.ctx, &old); err != nil {
			t.Fatal(err)
		}
		rr.mu.Lock()
		oldSecret := rr.secret[0]
		rr.secret = []string{newSecret}
		rr.mu.Unlock()
		f.event(t, "invitation", "inv1", "invitation_resent")
		eventually(t, "the delivery after rotation", func() bool { return len(rr.delivered()) == len(want)+1 })
		if g := rr.delivered()[len(want)]; !g.Verified {
			t.Errorf("the new secret does not verify: %+v", g)
		}
		rr.mu.Lock()
		rr.secret = []string{oldSecret}
		rr.mu.Unlock()
		// A replay leaves out a row still being sent: wait until the last one is recorded.
		eventually(t, "the log to settle", func() bool {
			pending, _, err := f.st.ListWebhookDeliveries(f.ctx, old.ID, store.WebhookDeliveryFilter{Status: models.WebhookPending}, store.Page{Limit: 10})
			return err == nil && len(pending) == 0
		})
		if _, err := f.st.Redeliver(f.ctx, old.ID, "", &time.Time{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the replay", func() bool { return len(rr.delivered()) == 2*(len(want)+1) })
		for _, g := range rr.delivered()[len(want)+1:] {
			if !g.Verified {
				t.Errorf("the previous secret no longer verifies within its grace: %+v", g)
			}
		}
	})
}

// TestFailingReceiverGetsEveryEventOnceInOrder: the receiver fails the first
// attempts; the object's later events wait, and each event is acknowledged
// exactly once, in order.
func TestFailingReceiverGetsEveryEventOnceInOrder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
		r := newReceiver(t, func(n int, _ store.WebhookMessage) int {
			if n < 3 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		ep := f.endpoint(t, reseller, r)
		f.invitation(t, "inv1", reseller, provider)
		for _, e := range []string{"invitation_created", "invitation_sent", "customer_accepted"} {
			f.event(t, "invitation", "inv1", e)
		}
		d := f.dispatcher(webhooks.Options{})
		d.Start()
		defer d.Stop()
		eventually(t, "three deliveries", func() bool { return len(r.delivered()) == 3 })
		time.Sleep(100 * time.Millisecond) // nothing more may come
		all := r.all()
		if len(all) != 6 {
			t.Fatalf("want 3 refused + 3 acknowledged requests, got %+v", all)
		}
		for i, g := range all {
			wantSeq := 1
			if i >= 3 {
				wantSeq = i - 2
			}
			if g.Seq != wantSeq {
				t.Errorf("request %d carried seq %d, want %d (in order, the first retried)", i, g.Seq, wantSeq)
			}
		}
		log, _, err := f.st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{Status: models.WebhookSucceeded}, store.Page{Limit: 10})
		if err != nil || len(log) != 3 {
			t.Fatalf("log: %v %v", log, err)
		}
		first := log[len(log)-1]
		if first.Seq != 1 || first.Attempts != 4 || first.LastStatusCode != 200 || first.LastResponse != "answered 200" {
			t.Errorf("first delivery's log: %+v", first)
		}
	})
}

// TestGoneDisablesTheEndpoint: 410 fails the delivery, disables the endpoint
// (later events wait) and e-mails the partner.
func TestGoneDisablesTheEndpoint(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
		var back atomic.Bool
		r := newReceiver(t, func(int, store.WebhookMessage) int {
			if back.Load() {
				return http.StatusOK
			}
			return http.StatusGone
		})
		ep := f.endpoint(t, reseller, r)
		f.invitation(t, "inv1", reseller, provider)
		f.event(t, "invitation", "inv1", "invitation_created")
		f.event(t, "invitation", "inv1", "invitation_sent")
		var mu sync.Mutex
		var mails []string
		d := f.dispatcher(webhooks.Options{Notify: func(_ context.Context, _, to, subject, _ string) error {
			mu.Lock()
			defer mu.Unlock()
			mails = append(mails, to+": "+subject)
			return nil
		}})
		d.Start()
		eventually(t, "the endpoint disabled", func() bool {
			e, err := f.st.WebhookEndpoint(f.ctx, ep.ID)
			return err == nil && !e.Enabled
		})
		time.Sleep(100 * time.Millisecond)
		d.Stop()
		if got := r.all(); len(got) != 1 {
			t.Errorf("a disabled endpoint was called again: %+v", got)
		}
		e, _ := f.st.WebhookEndpoint(f.ctx, ep.ID)
		if !strings.Contains(e.DisabledReason, "410") {
			t.Errorf("reason %q", e.DisabledReason)
		}
		failed, _, _ := f.st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{Status: models.WebhookFailed}, store.Page{Limit: 10})
		pending, _, _ := f.st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{Status: models.WebhookPending}, store.Page{Limit: 10})
		if len(failed) != 1 || len(pending) != 1 {
			t.Errorf("failed %d pending %d, want 1 and 1", len(failed), len(pending))
		}
		mu.Lock()
		if len(mails) != 1 || !strings.HasPrefix(mails[0], "p1@example.com: Webhook endpoint disabled") {
			t.Errorf("mails %v", mails)
		}
		mu.Unlock()

		// The receiver is back and the partner re-enables the endpoint: the paused delivery goes out.
		back.Store(true)
		e.Enabled, e.DisabledReason = true, ""
		if err := f.st.SaveWebhookEndpoint(f.ctx, &e); err != nil {
			t.Fatal(err)
		}
		d = f.dispatcher(webhooks.Options{})
		d.Start()
		defer d.Stop()
		eventually(t, "the paused delivery", func() bool { return len(r.delivered()) == 1 })
		if g := r.delivered()[0]; g.Type != "invitation.sent" {
			t.Errorf("after re-enabling: %+v", g)
		}
	})
}

// TestFailingForDaysDisablesTheEndpoint: an endpoint whose deliveries all
// fail for DisableAfter is disabled.
func TestFailingForDaysDisablesTheEndpoint(t *testing.T) {
	f := newFixture(t, migrations.SQLite)
	reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
	r := newReceiver(t, func(int, store.WebhookMessage) int { return http.StatusInternalServerError })
	ep := f.endpoint(t, reseller, r)
	f.invitation(t, "inv1", reseller, provider)
	f.event(t, "invitation", "inv1", "invitation_created")
	d := f.dispatcher(webhooks.Options{DisableAfter: 150 * time.Millisecond, Schedule: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond,
		50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}})
	d.Start()
	defer d.Stop()
	eventually(t, "the endpoint disabled", func() bool {
		e, err := f.st.WebhookEndpoint(f.ctx, ep.ID)
		return err == nil && !e.Enabled && strings.Contains(e.DisabledReason, "failed since")
	})
	if n := len(r.all()); n < 3 || n > 8 {
		t.Errorf("%d attempts before disabling", n)
	}
}

// TestKilledDispatcherLosesNothing: a dispatcher that claimed rows and died
// (kill -9: leases held, nothing recorded), and one stopped in the middle of
// slow deliveries, leave work a new dispatcher finishes: every event of every
// object arrives, in order, none missing.
func TestKilledDispatcherLosesNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
		r := newReceiver(t, func(int, store.WebhookMessage) int {
			time.Sleep(20 * time.Millisecond)
			return http.StatusOK
		})
		f.endpoint(t, reseller, r)
		events := []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}
		const objects = 5
		f.invitations(t, reseller, provider, objects, events...)
		// The crashed process: it leased the head of each object and vanished.
		lease := 300 * time.Millisecond
		claimed, err := f.st.ClaimWebhookDeliveries(f.ctx, 100, lease)
		if err != nil || len(claimed) != objects {
			t.Fatalf("claimed %d (want one per object): %v", len(claimed), err)
		}
		// A second one waits out the leases, then is stopped mid-run.
		d1 := f.dispatcher(webhooks.Options{Lease: lease, Batch: 2, Concurrency: 2})
		d1.Start()
		time.Sleep(lease / 2)
		if n := len(r.delivered()); n != 0 {
			t.Errorf("%d deliveries overtook the leased heads of their objects", n)
		}
		eventually(t, "some deliveries", func() bool { return len(r.delivered()) >= objects })
		d1.Stop()
		d2 := f.dispatcher(webhooks.Options{Lease: lease})
		d2.Start()
		defer d2.Stop()
		want := objects * (len(events) + 1) // relationship_created is two catalogue events
		eventually(t, "every delivery", func() bool { return len(uniqueIDs(r.delivered())) == want })
		// Per object: the acknowledged messages, deduplicated by webhook-id,
		// arrive in event order with no gap.
		seen := map[string]bool{}
		last := map[string]int{}
		for _, g := range r.delivered() {
			if seen[g.ID] {
				continue
			}
			seen[g.ID] = true
			if g.Seq < last[g.ObjectID] || g.Seq > last[g.ObjectID]+1 {
				t.Errorf("%s: seq %d after %d", g.ObjectID, g.Seq, last[g.ObjectID])
			}
			last[g.ObjectID] = g.Seq
		}
		for i := range objects {
			if id := fmt.Sprintf("inv%d", i); last[id] != len(events) {
				t.Errorf("%s ended at seq %d", id, last[id])
			}
		}
	})
}

func uniqueIDs(gs []received) map[string]bool {
	out := map[string]bool{}
	for _, g := range gs {
		out[g.ID] = true
	}
	return out
}

// TestPartnersReceiveOnlyTheirOwnEvents: two resellers with a provider each;
// each endpoint hears about its partner's objects alone.
func TestPartnersReceiveOnlyTheirOwnEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		r1, r2 := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeReseller)
		p1, p2 := f.partner(t, models.PartnerTypeIndirectProvider), f.partner(t, models.PartnerTypeIndirectProvider)
		recv := map[string]*receiver{}
		for _, p := range []string{r1, r2, p1, p2} {
			recv[p] = newReceiver(t, nil)
			f.endpoint(t, p, recv[p])
		}
		f.invitation(t, "inv-a", r1, p1)
		f.invitation(t, "inv-b", r2, p2)
		f.event(t, "invitation", "inv-a", "invitation_created")
		f.event(t, "invitation", "inv-b", "invitation_created")
		f.event(t, "enrollment", r1, "enrollment_submitted")
		d := f.dispatcher(webhooks.Options{})
		d.Start()
		defer d.Stop()
		eventually(t, "deliveries", func() bool {
			return len(recv[r1].delivered()) == 2 && len(recv[r2].delivered()) == 1 && len(recv[p1].delivered()) == 1 && len(recv[p2].delivered()) == 1
		})
		time.Sleep(50 * time.Millisecond)
		mine := map[string][]string{r1: {"inv-a", r1}, r2: {"inv-b"}, p1: {"inv-a"}, p2: {"inv-b"}}
		for p, r := range recv {
			for _, g := range r.all() {
				if !strings.Contains(strings.Join(mine[p], " "), g.ObjectID) || g.ObjectID == "" {
					t.Errorf("partner %s received %s about %s", p, g.Type, g.ObjectID)
				}
			}
		}
	})
}

// TestPrivateTargetsRefused: without WEBHOOKS_ALLOW_PRIVATE_TARGETS the
// client refuses loopback, private, link-local and metadata addresses at
// connect time, and a delivery to one fails without reaching it.
func TestPrivateTargetsRefused(t *testing.T) {
	client := webhooks.NewHTTPClient(2*time.Second, false)
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer local.Close()
	port := local.URL[strings.LastIndex(local.URL, ":")+1:]
	for _, target := range []string{local.URL, "http://localhost:" + port, "http://10.1.2.3/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
		"http://[::1]:" + port + "/", "http://[fd00:ec2::254]/", "http://0.0.0.0:" + port + "/", "http://100.64.0.1/"} {
		resp, err := client.Post(target, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: reached (status %d)", target, resp.StatusCode)
			continue
		}
		if !errors.Is(err, webhooks.ErrForbiddenTarget) {
			t.Errorf("%s: refused for the wrong reason: %v", target, err)
		}
	}
	allowed := webhooks.NewHTTPClient(2*time.Second, true)
	resp, err := allowed.Post(local.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("with private targets allowed: %v", err)
	}
	resp.Body.Close()

	f := newFixture(t, migrations.SQLite)
	reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
	r := newReceiver(t, nil)
	ep := f.endpoint(t, reseller, r)
	f.invitation(t, "inv1", reseller, provider)
	f.event(t, "invitation", "inv1", "invitation_created")
	d := f.dispatcher(webhooks.Options{Client: webhooks.NewHTTPClient(2*time.Second, false)})
	if _, err := d.RunOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	log, _, _ := f.st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{}, store.Page{Limit: 10})
	if len(log) != 1 || log[0].Status != models.WebhookPending || !strings.Contains(log[0].LastError, "WEBHOOKS_ALLOW_PRIVATE_TARGETS") {
		t.Errorf("log %+v", log)
	}
	if n := len(r.all()); n != 0 {
		t.Errorf("the receiver was reached %d times", n)
	}
}

// TestRedirectsAreNotFollowed: a 3xx is a failed attempt, not a hop.
func TestRedirectsAreNotFollowed(t *testing.T) {
	f := newFixture(t, migrations.SQLite)
	reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
	target := newReceiver(t, nil)
	r := newReceiver(t, func(int, store.WebhookMessage) int { return http.StatusFound })
	r.srv.Config.Handler = http.RedirectHandler(target.srv.URL, http.StatusFound)
	ep := f.endpoint(t, reseller, r)
	f.invitation(t, "inv1", reseller, provider)
	f.event(t, "invitation", "inv1", "invitation_created")
	if _, err := f.dispatcher(webhooks.Options{}).RunOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	log, _, _ := f.st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{}, store.Page{Limit: 10})
	if len(log) != 1 || log[0].LastStatusCode != http.StatusFound || log[0].Status != models.WebhookPending {
		t.Errorf("log %+v", log)
	}
	if n := len(target.all()); n != 0 {
		t.Errorf("the redirect was followed")
	}
}

// TestRetriedEventIsQueuedOnce: RecordProgress retried after its event was
// written queues nothing more; events outside the catalogue queue nothing.
func TestRetriedEventIsQueuedOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
		ep := f.endpoint(t, reseller, newReceiver(t, nil))
		f.invitation(t, "inv1", reseller, provider)
		e := models.OnboardingEvent{SubjectID: "inv1", Seq: 1, Type: "invitation_created", At: time.Now()}
		for i, want := range []bool{true, false, false} {
			wrote, err := f.st.RecordEvent(f.ctx, "invitation", e)
			if err != nil || wrote != want {
				t.Fatalf("call %d: wrote=%v err=%v", i, wrote, err)
			}
		}
		f.seq["inv1"] = 1
		f.event(t, "invitation", "inv1", "reminder_sent")
		log, _, err := f.st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{}, store.Page{Limit: 10})
		if err != nil || len(log) != 1 || log[0].Type != "invitation.created" || log[0].EventID != "inv1:1" {
			t.Fatalf("log %+v %v", log, err)
		}
	})
}
