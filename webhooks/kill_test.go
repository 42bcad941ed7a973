package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/webhooks"
)

// The environment that turns this test binary into a dispatcher process.
const (
	envDispatcherDB  = "WEBHOOKS_TEST_DISPATCHER_DB"
	envDispatcherKey = "WEBHOOKS_TEST_DISPATCHER_KEY"
)

// dispatcherLease is how long a claim of the killed process keeps its row.
const dispatcherLease = 2 * time.Second

// TestDispatcherProcess is not a test on its own: TestSIGKILLDuringDelivery
// runs the test binary again with this test selected and the environment
// set, to get a real OS process that delivers and can be killed with
// SIGKILL. It drains the given database until it is killed.
func TestDispatcherProcess(t *testing.T) {
	dsn := os.Getenv(envDispatcherDB)
	if dsn == "" {
		t.Skip("runs only as the child process of TestSIGKILLDuringDelivery")
	}
	st, err := store.Open(context.Background(), store.Options{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secret.NewKeyring(os.Getenv(envDispatcherKey))
	if err != nil {
		t.Fatal(err)
	}
	// One request at a time, so the only message whose outcome a kill can
	// lose is the one being sent.
	d := webhooks.NewDispatcher(webhooks.Options{Store: st, Keys: keys, AllowPrivate: true, Batch: 1, Concurrency: 1,
		Poll: 10 * time.Millisecond, Timeout: 5 * time.Second, Lease: dispatcherLease})
	d.Start()
	fmt.Println("dispatcher running")
	select {} // until SIGKILL
}

// TestSIGKILLDuringDelivery: a dispatcher running in its own OS process is
// killed with SIGKILL while the receiver holds a delivery open; a second
// process takes over. Asserted: every queued message is acknowledged (the
// set of acknowledged webhook-ids is exactly the set of rows, all of them
// recorded as succeeded), each object's messages arrive in event order with
// no gap, and the only webhook-id received twice is the one in flight at the
// kill — its answer went to a dead process, so at-least-once must send it
// again, under the same webhook-id, for the receiver to deduplicate.
func TestSIGKILLDuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OS processes")
	}
	key := secret.NewKey()
	keys, err := secret.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	st, dsn := storetest.NewWithURL(t, migrations.Postgres)
	f := &fixture{st: st, keys: keys, ctx: context.Background(), seq: map[string]int{}}

	// The receiver holds the 4th request open until the test lets it answer.
	const held = 3
	inFlight, release := make(chan string, 1), make(chan struct{})
	var once sync.Once
	r := newReceiver(t, func(n int, _ store.WebhookMessage) int {
		if n == held {
			once.Do(func() {
				inFlight <- "held"
				<-release
			})
		}
		return http.StatusOK
	})
	reseller, provider := f.partner(t, models.PartnerTypeReseller), f.partner(t, models.PartnerTypeIndirectProvider)
	ep := f.endpoint(t, reseller, r)
	events := []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}
	const objects = 3
	f.invitations(t, reseller, provider, objects, events...)
	want := objects * (len(events) + 1) // relationship_created is two catalogue events

	first := startDispatcherProcess(t, dsn, key)
	select {
	case <-inFlight:
	case <-time.After(15 * time.Second):
		t.Fatal("the first process never reached the held delivery")
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	close(release) // the receiver answers 200 to a process that is gone

	second := startDispatcherProcess(t, dsn, key)
	defer func() { _ = second.Process.Signal(syscall.SIGKILL); _ = second.Wait() }()
	eventually(t, "every message acknowledged after the takeover", func() bool { return len(uniqueIDs(r.delivered())) == want })

	rows, _, err := st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{}, store.Page{Limit: 100})
	if err != nil || len(rows) != want {
		t.Fatalf("%d rows, want %d: %v", len(rows), want, err)
	}
	got := uniqueIDs(r.delivered())
	for _, row := range rows {
		if !got[row.ID] {
			t.Errorf("%s (%s) never acknowledged", row.ID, row.Type)
		}
	}
	eventually(t, "every row recorded as succeeded", func() bool {
		ok, _, err := st.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDeliveryFilter{Status: models.WebhookSucceeded}, store.Page{Limit: 100})
		return err == nil && len(ok) == want
	})

	all := r.all()
	heldID := all[held].ID
	count := map[string]int{}
	last := map[string]int{}
	for _, g := range all {
		count[g.ID]++
		if !g.Verified {
			t.Errorf("%s did not verify", g.ID)
		}
		if count[g.ID] > 1 {
			continue
		}
		if g.Seq < last[g.ObjectID] || g.Seq > last[g.ObjectID]+1 {
			t.Errorf("%s: seq %d after %d", g.ObjectID, g.Seq, last[g.ObjectID])
		}
		last[g.ObjectID] = g.Seq
	}
	for id, n := range count {
		switch {
		case id == heldID && n != 2:
			t.Errorf("the message in flight at the kill (%s) arrived %d times, want 2 (its answer was lost)", id, n)
		case id != heldID && n != 1:
			t.Errorf("%s arrived %d times, though its answer was recorded", id, n)
		}
	}
}

// startDispatcherProcess runs this test binary as a dispatcher on dsn.
func startDispatcherProcess(t *testing.T, dsn, key string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDispatcherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envDispatcherDB+"="+dsn, envDispatcherKey+"="+key)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dispatcher process %d said:\n%s", cmd.Process.Pid, out.String())
		}
	})
	return cmd
}
