package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/csp-onboarding/onboarding/metrics"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
)

// DefaultSchedule is the wait before each retry: 5 s … 10 h, about three
// days in all (≈ 2.8 days before jitter), then the delivery is given up.
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// ResponseKept is how much of an answer the delivery log keeps.
const ResponseKept = 256

// Notifier tells a partner something by e-mail (an endpoint was disabled).
type Notifier func(ctx context.Context, key, to, subject, body string) error

// Options configures a Dispatcher; zero values take the defaults.
type Options struct {
	Store    *store.Store
	Keys     *secret.Keyring
	Client   *http.Client // NewHTTPClient(Timeout, AllowPrivate) when nil
	Logger   *slog.Logger
	Metrics  *metrics.Webhooks // may be nil
	Notify   Notifier          // may be nil
	Watch    Watch             // shows failing endpoints in the Temporal UI; may be nil
	Schedule []time.Duration   // DefaultSchedule when nil
	// DisableAfter disables an endpoint whose deliveries all failed for this long (3 days).
	DisableAfter time.Duration
	Timeout      time.Duration // per attempt (10 s)
	AllowPrivate bool          // WEBHOOKS_ALLOW_PRIVATE_TARGETS
	Lease        time.Duration // how long a claimed row is ours (Timeout + 20 s)
	Poll         time.Duration // idle wait between claims (250 ms)
	Batch        int           // rows claimed at once (32)
	Concurrency  int           // requests in flight (8)
	UserAgent    string
}

// Dispatcher drains the webhook outbox. Any number may run (one per worker
// replica): they share rows through leases.
type Dispatcher struct {
	o      Options
	rnd    func() float64
	cancel context.CancelFunc
	done   chan struct{}
}

// NewDispatcher fills in the defaults.
func NewDispatcher(o Options) *Dispatcher {
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 72 * time.Hour
	}
	if o.Lease <= 0 {
		o.Lease = o.Timeout + 20*time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond // an idle claim is one indexed query
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Client == nil {
		o.Client = NewHTTPClient(o.Timeout, o.AllowPrivate)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.UserAgent == "" {
		o.UserAgent = "csp-onboarding-webhooks/1"
	}
	return &Dispatcher{o: o, rnd: rand.Float64}
}

// Start runs the dispatcher until Stop.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		d.run(ctx)
	}()
}

// Stop ends the loop and waits for requests in flight; a request cut short
// leaves its row leased, and it is sent again when the lease ends.
func (d *Dispatcher) Stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
}

func (d *Dispatcher) run(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.o.Logger.Warn("Webhook dispatcher could not claim deliveries", "error", err)
		}
		if n < d.o.Batch || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(d.o.Poll):
			}
		}
	}
}

// RunOnce claims one batch of due deliveries and sends them; it returns how
// many it claimed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	rows, err := d.o.Store.ClaimWebhookDeliveries(ctx, d.o.Batch, d.o.Lease)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, d.o.Concurrency)
	var wg sync.WaitGroup
	for _, row := range rows {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.deliver(ctx, row)
		}()
	}
	wg.Wait()
	return len(rows), nil
}

// deliver makes one attempt and records it.
func (d *Dispatcher) deliver(ctx context.Context, row models.WebhookDelivery) {
	log := d.o.Logger.With("delivery_id", row.ID, "endpoint_id", row.EndpointID, "type", row.Type)
	ep, err := d.o.Store.WebhookEndpoint(ctx, row.EndpointID)
	if err != nil {
		// Deleted meanwhile (its rows go with it) or the database is away:
		// the lease runs out and the row, if it still exists, is tried again.
		log.Warn("Webhook endpoint not loaded", "error", err)
		return
	}
	start := time.Now()
	a := d.attempt(ctx, ep, row)
	if ctx.Err() != nil && !a.Succeeded {
		return // stopping: not the receiver's fault, leave the lease to expire
	}
	d.o.Metrics.ObserveAttempt(time.Since(start))
	a.DisableAfter = d.o.DisableAfter
	outcome := "succeeded"
	switch {
	case a.Succeeded:
		d.o.Metrics.ObserveEventToDelivery(time.Since(row.EventAt))
	case a.Gone:
		outcome = "gone"
	default:
		if row.Attempts < len(d.o.Schedule) {
			a.Next = time.Now().Add(d.jitter(d.o.Schedule[row.Attempts]))
			outcome = "retry"
		} else {
			outcome = "failed"
		}
	}
	d.o.Metrics.Delivery(outcome)
	// The outcome is written even while stopping, so a delivered message is
	// not sent twice for want of a record.
	res, err := d.o.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), row, a)
	if err != nil {
		log.Error("Could not record a webhook attempt; it will be sent again", "error", err)
		return
	}
	if a.Succeeded {
		log.Debug("Webhook delivered", "status", a.StatusCode, "attempts", row.Attempts+1)
	} else {
		log.Info("Webhook attempt failed", "outcome", outcome, "status", a.StatusCode, "error", a.Error, "attempts", row.Attempts+1)
	}
	if res.EndpointDisabled {
		d.endpointDisabled(context.WithoutCancel(ctx), ep, res.DisabledReason)
	}
	d.show(ctx, row.EndpointID, res)
}

// show tells the endpoint's view in the Temporal UI what changed. It is a
// view: when Temporal is away the delivery goes on and the view catches up
// at its next read.
func (d *Dispatcher) show(ctx context.Context, endpointID string, res store.WebhookAttemptResult) {
	if d.o.Watch == nil || !(res.Failing || res.EndpointDisabled || res.Recovered) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	if res.Recovered {
		err = d.o.Watch.Changed(ctx, endpointID)
	} else {
		err = d.o.Watch.Failing(ctx, endpointID)
	}
	if err != nil {
		d.o.Logger.Warn("Could not update the failing endpoint's view in Temporal", "endpoint_id", endpointID, "error", err)
	}
}

func (d *Dispatcher) attempt(ctx context.Context, ep models.WebhookEndpoint, row models.WebhookDelivery) store.WebhookAttempt {
	secrets, err := signingSecrets(d.o.Keys, ep, time.Now())
	if err != nil {
		return store.WebhookAttempt{Error: "cannot open the signing secret: " + err.Error()}
	}
	body := []byte(row.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return store.WebhookAttempt{Error: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.o.UserAgent)
	if err := Sign(req.Header, row.ID, time.Now(), body, secrets); err != nil {
		return store.WebhookAttempt{Error: err.Error()}
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, ErrForbiddenTarget) {
			msg = ErrForbiddenTarget.Error() + " (set WEBHOOKS_ALLOW_PRIVATE_TARGETS=true when self-hosting)"
		}
		return store.WebhookAttempt{Error: msg}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, ResponseKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	a := store.WebhookAttempt{StatusCode: resp.StatusCode, Response: string(bytes.ToValidUTF8(head, []byte("?")))}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.Succeeded = true
	case resp.StatusCode == http.StatusGone:
		a.Gone = true
		a.Error = "410 Gone: the endpoint was disabled"
	default:
		a.Error = fmt.Sprintf("answered %d", resp.StatusCode)
	}
	return a
}

// jitter spreads retries ±20% so endpoints that failed together do not all
// come back at the same second.
func (d *Dispatcher) jitter(wait time.Duration) time.Duration {
	return time.Duration(float64(wait) * (0.8 + 0.4*d.rnd()))
}

func (d *Dispatcher) endpointDisabled(ctx context.Context, ep models.WebhookEndpoint, reason string) {
	d.o.Logger.Warn("Webhook endpoint disabled", "endpoint_id", ep.ID, "partner_id", ep.PartnerID, "reason", reason)
	d.o.Metrics.Disabled()
	if d.o.Notify == nil {
		return
	}
	p, err := d.o.Store.Partner(ctx, ep.PartnerID)
	if err != nil || p.ContactEmail == "" {
		return
	}
	body := fmt.Sprintf("Your webhook endpoint %s (%s) was disabled: %s.\n\n"+
		"Deliveries to it are paused and kept. Fix the receiver, then re-enable the endpoint with\n"+
		"PATCH /v1/webhook-endpoints/%s {\"enabled\": true}; the paused deliveries are sent then, and\n"+
		"POST /v1/webhook-endpoints/%s/replay?since=… sends failed ones again.\n", ep.ID, ep.URL, reason, ep.ID, ep.ID)
	key := fmt.Sprintf("webhook-disabled:%s:%s", ep.ID, time.Now().UTC().Format("20060102T150405"))
	if err := d.o.Notify(ctx, key, p.ContactEmail, "Webhook endpoint disabled: "+ep.URL, body); err != nil {
		d.o.Logger.Warn("Could not e-mail the partner about its disabled endpoint", "endpoint_id", ep.ID, "error", err)
	}
}
