package webhooks_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/webhooks"
)

// watchCalls records what the dispatcher tells the endpoint's view, with
// the endpoint's health as the view would read it at that moment.
type watchCalls struct {
	st     *store.Store
	mu     sync.Mutex
	calls  []string
	health []store.WebhookEndpointHealth
}

func (w *watchCalls) note(ctx context.Context, call, id string) error {
	h, err := w.st.WebhookEndpointHealth(ctx, id)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls, w.health = append(w.calls, call), append(w.health, h)
	return err
}

func (w *watchCalls) Failing(ctx context.Context, id string) error { return w.note(ctx, "failing", id) }
func (w *watchCalls) Changed(ctx context.Context, id string) error { return w.note(ctx, "changed", id) }

func (w *watchCalls) got() ([]string, []store.WebhookEndpointHealth) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls), slices.Clone(w.health)
}

// TestFailingEndpointIsShownUntilItRecovers: every failed attempt tells the
// view (which then reads: failing since, attempts, last answer, next
// attempt), and the first success after them tells it the endpoint recovered.
func TestFailingEndpointIsShownUntilItRecovers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
		r := newReceiver(t, func(n int, _ store.WebhookMessage) int {
			if n < 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		f.endpoint(t, reseller, r)
		f.invitation(t, "inv1", reseller, provider)
		f.event(t, "invitation", "inv1", "invitation_created")
		f.event(t, "invitation", "inv1", "invitation_sent")
		w := &watchCalls{st: f.st}
		d := f.dispatcher(webhooks.Options{Watch: w})
		d.Start()
		defer d.Stop()
		eventually(t, "both delivered", func() bool { return len(r.delivered()) == 2 })
		eventually(t, "the recovery told", func() bool { calls, _ := w.got(); return len(calls) == 3 })
		calls, health := w.got()
		if !slices.Equal(calls, []string{"failing", "failing", "changed"}) {
			t.Fatalf("calls %v", calls)
		}
		second := health[1]
		if second.FailingSince == nil || second.FailedAttempts != 2 || second.LastStatusCode != 503 || second.LastResponse != "answered 503" ||
			second.Pending != 2 || second.NextAttempt == nil || second.LastFailureAt == nil || !second.Enabled {
			t.Errorf("while failing the view reads %+v", second)
		}
		if after := health[2]; after.FailingSince != nil || after.FailedAttempts != 0 {
			t.Errorf("after the recovery the view reads %+v", after)
		}
		if gone, err := f.st.WebhookEndpointHealth(f.ctx, "whe_nope"); err != nil || !gone.Deleted {
			t.Errorf("an unknown endpoint reads %+v %v", gone, err)
		}
	})
}
