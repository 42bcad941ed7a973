package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/workflows"
)

// fakeTemporal is the edge of these unit tests: a workflow service that keeps
// the runs it started and can be down, hang up after starting, or refuse.
// Everything else (store, handlers, sweeper) is real.
type fakeTemporal struct {
	mu     sync.Mutex
	mode   string // "" up, "down", "hangup" (starts, then the caller sees a cancelled context), "refuse"
	runs   map[string]time.Time
	memos  map[string]any
	starts []string
}

func (f *fakeTemporal) setMode(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch f.mode {
	case "down":
		return nil, serviceerror.NewUnavailable("connection refused")
	case "refuse":
		return nil, serviceerror.NewInvalidArgument("search attribute not registered")
	}
	if f.runs == nil {
		f.runs = map[string]time.Time{}
	}
	if _, ok := f.runs[o.ID]; ok { // every run here is running
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")
	}
	f.runs[o.ID] = time.Now()
	if f.memos == nil {
		f.memos = map[string]any{}
	}
	f.memos[o.ID] = o.Memo[memoSubmission]
	f.starts = append(f.starts, o.ID)
	if f.mode == "hangup" {
		return nil, context.Canceled
	}
	return nil, nil
}

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mode == "down" {
		return nil, serviceerror.NewUnavailable("connection refused")
	}
	at, ok := f.runs[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	info := &workflowpb.WorkflowExecutionInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, StartTime: timestamppb.New(at)}
	if m := f.memos[id]; m != nil {
		pl, err := converter.GetDefaultDataConverter().ToPayload(m)
		if err != nil {
			return nil, err
		}
		info.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{memoSubmission: pl}}
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}, nil
}

func (f *fakeTemporal) started(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.runs[id]
	return ok
}

func (f *fakeTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewUnavailable("not in this test")
}
func (f *fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return nil, nil
}
func (f *fakeTemporal) GetWorkflow(context.Context, string, string) client.WorkflowRun { return nil }

func seedPartner(t testing.TB, st *store.Store, typ string) (models.Partner, string) {
	t.Helper()
	key, hash := secret.New(secret.APIKeyPrefix)
	now := time.Now().UTC()
	p := models.Partner{ID: newID(), Name: typ, Type: typ, DirectBill: typ == models.PartnerTypeReseller, ContactEmail: typ + "@x.example",
		APIKeyHash: hash, EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
	if err := st.CreatePartner(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	return p, key
}

type startEnv struct {
	t        *testing.T
	st       *store.Store
	temporal *fakeTemporal
	deps     Deps
	e        http.Handler
	sweeper  *Sweeper
}

func newStartEnv(t *testing.T, adjust ...func(*config.Config)) *startEnv {
	return newStartEnvOn(t, migrations.SQLite, adjust...)
}

func newStartEnvOn(t *testing.T, dialect migrations.Dialect, adjust ...func(*config.Config)) *startEnv {
	st := storetest.New(t, dialect)
	temporal := &fakeTemporal{}
	deps := Deps{Store: st, Temporal: temporal, Config: config.Default(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	deps.Config.RateLimits = config.RateLimits{}
	for _, f := range adjust {
		f(&deps.Config)
	}
	return &startEnv{t: t, st: st, temporal: temporal, deps: deps, e: New(deps), sweeper: NewSweeper(deps)}
}

func (env *startEnv) call(method, path, key, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	env.e.ServeHTTP(rec, req)
	return rec
}

func (env *startEnv) activePartnership(provider, reseller models.Partner) {
	env.t.Helper()
	now := time.Now().UTC()
	p := models.Partnership{ID: newID(), ProviderID: provider.ID, ResellerID: reseller.ID, Status: models.PartnershipActive,
		WorkflowID: "partnership:seeded", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
	if err := env.st.CreatePartnership(context.Background(), &p); err != nil {
		env.t.Fatal(err)
	}
}

// TestACrashBetweenInsertAndStartIsFinishedByARetryOrTheSweeper: for each
// kind, a start that never reached Temporal (the process died, or Temporal
// was away) leaves the row waiting with its start pending; (a) a retry with
// the same Idempotency-Key starts it and answers the same onboarding, (b)
// without a key, the sweeper starts it.
func TestACrashBetweenInsertAndStartIsFinishedByARetryOrTheSweeper(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { crashBetweenInsertAndStart(t, d) })
	}
}

func crashBetweenInsertAndStart(t *testing.T, dialect migrations.Dialect) {
	env := newStartEnvOn(t, dialect)
	ctx := context.Background()
	provider, providerKey := seedPartner(t, env.st, models.PartnerTypeIndirectProvider)
	reseller, resellerKey := seedPartner(t, env.st, models.PartnerTypeReseller)
	reseller2, reseller2Key := seedPartner(t, env.st, models.PartnerTypeReseller)
	reseller3, _ := seedPartner(t, env.st, models.PartnerTypeReseller)
	env.activePartnership(provider, reseller)
	// The extension's gates: an approved enrollment and direct-bill customers.
	if _, err := env.st.SubmitEnrollment(ctx, reseller.ID, workflows.EnrollmentWorkflowID(reseller.ID)); err != nil {
		t.Fatal(err)
	}
	if err := env.st.SetEnrollmentStatus(ctx, reseller.ID, models.EnrollmentApproved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := env.sweeper.Sweep(ctx, 0); err != nil { // the seeded enrollment's start is no longer pending
		t.Fatal(err)
	}
	var customers []string
	for i := range 2 {
		now := time.Now().UTC()
		c := models.Customer{ID: newID(), CompanyName: fmt.Sprint("Woodgrove ", i), Domain: fmt.Sprintf("woodgrove%d.example", i), ContactEmail: "a@woodgrove.example",
			AcquiredVia: models.AcquiredViaDirectBill, CreatedBy: reseller.ID, BillTo: &models.BillTo{CompanyName: "W"}, CreatedAt: now, UpdatedAt: now}
		if err := env.st.CreateCustomer(ctx, &c, models.PartnerTypeReseller); err != nil {
			t.Fatal(err)
		}
		customers = append(customers, c.ID)
	}
	billTo := `"bill_to":{"company_name":"L","address_line1":"5 Lake Road","city":"Dublin","postal_code":"D02","country":"IE","email":"b@l.example","phone":"+353 1 555 0100"}`

	type kind struct {
		name, path string
		key        func(n int) string              // the caller's API key for attempt n (0: with a key, 1: without)
		body       func(n int) string              // the request of attempt n
		workflowID func(id string) string          // of the onboarding answered
		waiting    func(id string) (string, error) // the row's status
		want       string
	}
	kinds := []kind{
		{"partnership", "/v1/partnerships",
			func(int) string { return providerKey },
			func(n int) string { return `{"reseller_id":"` + []string{reseller2.ID, reseller3.ID}[n] + `"}` },
			workflows.PartnershipWorkflowID,
			func(id string) (string, error) { p, err := env.st.Partnership(ctx, id); return p.Status, err },
			models.PartnershipInvited},
		{"invitation", "/v1/invitations",
			func(int) string { return resellerKey },
			func(n int) string {
				return fmt.Sprintf(`{"provider_id":"%s","customer":{"company_name":"Northwind %d","email":"admin@northwind.example"},"message":"Hello","delegated_admin":{"roles":["Helpdesk Administrator"],"duration_days":90}}`, provider.ID, n)
			},
			workflows.InvitationWorkflowID,
			func(id string) (string, error) { i, err := env.st.Invitation(ctx, id); return i.Status, err },
			models.InvitationWaitingForCustomer},
		{"extension", "/v1/relationship-extensions",
			func(int) string { return resellerKey },
			func(n int) string {
				return fmt.Sprintf(`{"customer_id":"%s","provider_id":"%s","share_bill_to":true,"delegated_admin_required":false,"consent":{"method":"customer_confirmation"}}`, customers[n], provider.ID)
			},
			workflows.ExtensionWorkflowID,
			func(id string) (string, error) { x, err := env.st.Extension(ctx, id); return x.Status, err },
			models.ExtensionWaitingForConsent},
		{"tenant request", "/v1/customer-tenant-requests",
			func(int) string { return resellerKey },
			func(n int) string {
				return fmt.Sprintf(`{"provider_id":"%s","company_name":"Litware","domain":"litware%d.example","contact_email":"admin@litware.example",%s}`, provider.ID, n, billTo)
			},
			workflows.TenantRequestWorkflowID,
			func(id string) (string, error) { r, err := env.st.TenantRequest(ctx, id); return r.Status, err },
			models.TenantRequestWaitingForProvider},
	}
	idOf := func(rec *httptest.ResponseRecorder) string {
		_, after, _ := strings.Cut(rec.Body.String(), `"id":"`)
		id, _, _ := strings.Cut(after, `"`)
		return id
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			// (a) With a key: the crash leaves a waiting row and a pending start...
			env.temporal.setMode("down")
			if rec := env.call(http.MethodPost, k.path, k.key(0), k.body(0), "Idempotency-Key", k.name+"-1"); rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("start while Temporal is away: %d %s", rec.Code, rec.Body)
			}
			env.temporal.setMode("")
			// ...and the retry with the same key finishes the job.
			rec := env.call(http.MethodPost, k.path, k.key(0), k.body(0), "Idempotency-Key", k.name+"-1")
			id := idOf(rec)
			if rec.Code != http.StatusAccepted || id == "" {
				t.Fatalf("retry with the same key: %d %s", rec.Code, rec.Body)
			}
			if !env.temporal.started(k.workflowID(id)) {
				t.Fatalf("the retry did not start %s", k.workflowID(id))
			}
			if status, err := k.waiting(id); err != nil || status != k.want {
				t.Fatalf("status after the retry: %s %v", status, err)
			}
			if pending, _ := env.st.PendingStart(ctx, k.workflowID(id)); pending {
				t.Fatal("the start is still pending after it was confirmed")
			}
			// A replay after success answers the original onboarding, before any
			// business check (a second open request would be a 409).
			if rec := env.call(http.MethodPost, k.path, k.key(0), k.body(0), "Idempotency-Key", k.name+"-1"); rec.Code != http.StatusAccepted || idOf(rec) != id {
				t.Fatalf("replay after success: %d %s", rec.Code, rec.Body)
			}

			// (b) Without a key: the sweeper starts what the crash left.
			env.temporal.setMode("down")
			if rec := env.call(http.MethodPost, k.path, k.key(1), k.body(1)); rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("second start while Temporal is away: %d %s", rec.Code, rec.Body)
			}
			pending, err := env.st.PendingStarts(ctx, time.Now().Add(time.Second), 10)
			if err != nil || len(pending) != 1 {
				t.Fatalf("pending starts: %+v %v", pending, err)
			}
			orphan := pending[0]
			if n, _ := env.sweeper.Sweep(ctx, 0); n != 1 || env.temporal.started(orphan.WorkflowID) {
				t.Fatalf("a sweep while Temporal is away must leave the start pending (looked at %d)", n)
			}
			env.temporal.setMode("")
			if _, err := env.sweeper.Sweep(ctx, time.Hour); err != nil || env.temporal.started(orphan.WorkflowID) {
				t.Fatalf("a start younger than the sweep's age is left to its request: %v", err)
			}
			if _, err := env.sweeper.Sweep(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if !env.temporal.started(orphan.WorkflowID) {
				t.Fatalf("the sweeper did not start %s", orphan.WorkflowID)
			}
			if status, err := k.waiting(orphan.SubjectID); err != nil || status != k.want {
				t.Fatalf("status after the sweep: %s %v", status, err)
			}
			if left, _ := env.st.PendingStarts(ctx, time.Now().Add(time.Second), 10); len(left) != 0 {
				t.Fatalf("starts left pending: %+v", left)
			}
		})
	}

	t.Run("enrollment", func(t *testing.T) {
		// The enrollment has no Idempotency-Key: submitting again is the retry.
		for n, key := range []string{reseller2Key, seedKey(t, env.st)} {
			env.temporal.setMode("down")
			if rec := env.call(http.MethodPost, "/v1/enrollment", key, `{}`); rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("submit while Temporal is away: %d %s", rec.Code, rec.Body)
			}
			env.temporal.setMode("")
			pending, _ := env.st.PendingStarts(ctx, time.Now().Add(time.Second), 10)
			if len(pending) != 1 {
				t.Fatalf("pending starts: %+v", pending)
			}
			if n == 0 {
				if rec := env.call(http.MethodPost, "/v1/enrollment", key, `{}`); rec.Code != http.StatusAccepted {
					t.Fatalf("submitting again: %d %s", rec.Code, rec.Body)
				}
			} else if _, err := env.sweeper.Sweep(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if !env.temporal.started(pending[0].WorkflowID) {
				t.Fatalf("attempt %d did not start %s", n, pending[0].WorkflowID)
			}
			if e, err := env.st.Enrollment(ctx, pending[0].SubjectID); err != nil || e.Status != models.EnrollmentSubmitted {
				t.Fatalf("enrollment: %+v %v", e, err)
			}
		}
	})
}

func seedKey(t *testing.T, st *store.Store) string {
	_, key := seedPartner(t, st, models.PartnerTypeReseller)
	return key
}

// TestAnAmbiguousStartIsReconciledNotFailed: the client hangs up while the
// start is on its way; the workflow exists, so the onboarding is not marked
// failed. A start Temporal refuses outright, with no run, is ended with a
// reason and frees the pair.
func TestAnAmbiguousStartIsReconciledNotFailed(t *testing.T) {
	env := newStartEnv(t)
	ctx := context.Background()
	provider, providerKey := seedPartner(t, env.st, models.PartnerTypeIndirectProvider)
	reseller, resellerKey := seedPartner(t, env.st, models.PartnerTypeReseller)
	env.activePartnership(provider, reseller)

	env.temporal.setMode("hangup")
	body := `{"provider_id":"` + provider.ID + `","customer":{"company_name":"Northwind","email":"admin@northwind.example"}}`
	rec := env.call(http.MethodPost, "/v1/invitations", resellerKey, body)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("a start that happened though the call failed: %d %s", rec.Code, rec.Body)
	}
	invs, _, _ := env.st.ListInvitations(ctx, reseller.ID, "", store.Page{Limit: 5})
	if len(invs) != 1 || invs[0].Status != models.InvitationWaitingForCustomer {
		t.Fatalf("the started invitation: %+v", invs)
	}
	if events, _ := env.st.Events(ctx, invs[0].ID); len(events) != 0 {
		t.Fatalf("no start_failed on a started onboarding: %+v", events)
	}
	if pending, _ := env.st.PendingStart(ctx, invs[0].WorkflowID); pending {
		t.Fatal("a reconciled start stays pending")
	}

	// Refused, and Temporal has no run: the partnership is ended and says why.
	reseller2, _ := seedPartner(t, env.st, models.PartnerTypeReseller)
	env.temporal.setMode("refuse")
	if rec := env.call(http.MethodPost, "/v1/partnerships", providerKey, `{"reseller_id":"`+reseller2.ID+`"}`); rec.Code < 400 {
		t.Fatalf("a refused start: %d %s", rec.Code, rec.Body)
	}
	ps, _, _ := env.st.ListPartnerships(ctx, reseller2.ID, "", store.Page{Limit: 5})
	if len(ps) != 1 || ps[0].Status != models.PartnershipRemoved {
		t.Fatalf("the refused partnership: %+v", ps)
	}
	events, _ := env.st.Events(ctx, ps[0].ID)
	if len(events) != 1 || events[0].Type != "start_failed" || !strings.Contains(events[0].Details["reason"], "create it again") {
		t.Fatalf("timeline: %+v", events)
	}
	env.temporal.setMode("")
	if rec := env.call(http.MethodPost, "/v1/partnerships", providerKey, `{"reseller_id":"`+reseller2.ID+`"}`); rec.Code != http.StatusAccepted {
		t.Fatalf("a new invitation of the same reseller: %d %s", rec.Code, rec.Body)
	}
}

// TestTheSweeperEndsWhatCannotBeStarted: a partner-attested extension written
// without its attestation (by an older version) cannot be started from its
// row; the sweeper ends it with a start_failed reason instead of leaving it
// blocking the customer and provider.
func TestTheSweeperEndsWhatCannotBeStarted(t *testing.T) {
	env := newStartEnv(t)
	ctx := context.Background()
	provider, _ := seedPartner(t, env.st, models.PartnerTypeIndirectProvider)
	reseller, _ := seedPartner(t, env.st, models.PartnerTypeReseller)
	now := time.Now().UTC()
	c := models.Customer{ID: newID(), CompanyName: "W", Domain: "w.example", ContactEmail: "a@w.example", AcquiredVia: models.AcquiredViaDirectBill,
		CreatedBy: reseller.ID, CreatedAt: now, UpdatedAt: now}
	if err := env.st.CreateCustomer(ctx, &c, models.PartnerTypeReseller); err != nil {
		t.Fatal(err)
	}
	x := models.RelationshipExtension{ID: newID(), ResellerID: reseller.ID, ProviderID: provider.ID, CustomerID: c.ID, Status: models.ExtensionWaitingForConsent,
		ConsentMethod: models.ConsentPartnerAttestation, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	x.WorkflowID = workflows.ExtensionWorkflowID(x.ID)
	if _, err := env.st.CreateOnboarding(ctx, nil, &x, pendingStart(workflows.KindExtension, x.WorkflowID, x.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.sweeper.Sweep(ctx, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := env.st.Extension(ctx, x.ID)
	events, _ := env.st.Events(ctx, x.ID)
	if got.Status != models.ExtensionFailed || len(events) != 1 || events[0].Type != "start_failed" || env.temporal.started(x.WorkflowID) {
		t.Fatalf("the unstartable extension: %s %+v", got.Status, events)
	}
	if left, _ := env.st.PendingStarts(ctx, time.Now().Add(time.Second), 10); len(left) != 0 {
		t.Fatalf("starts left pending: %+v", left)
	}
}

// TestAKeyBoundToNothingIsFreed: an older version claimed keys before its
// insert; a key left bound to a row never written answered 404 for good.
// Now the replay frees it and the request goes through.
func TestAKeyBoundToNothingIsFreed(t *testing.T) {
	env := newStartEnv(t)
	_, providerKey := seedPartner(t, env.st, models.PartnerTypeIndirectProvider)
	provider, _, _ := env.st.APIKeyByHash(context.Background(), secret.Hash(providerKey))
	reseller, _ := seedPartner(t, env.st, models.PartnerTypeReseller)
	k, err := requestKey("old-key", provider.PartnerID, "create-partnership", &oapi.CreatePartnershipJSONRequestBody{ResellerId: reseller.ID})
	if err != nil {
		t.Fatal(err)
	}
	k.ResourceID, k.CreatedAt = "never-written", time.Now().UTC()
	if err := env.st.DB().Create(k).Error; err != nil {
		t.Fatal(err)
	}
	rec := env.call(http.MethodPost, "/v1/partnerships", providerKey, `{"reseller_id":"`+reseller.ID+`"}`, "Idempotency-Key", "old-key")
	if rec.Code != http.StatusAccepted || strings.Contains(rec.Body.String(), "never-written") {
		t.Fatalf("a key bound to nothing: %d %s", rec.Code, rec.Body)
	}
	again := env.call(http.MethodPost, "/v1/partnerships", providerKey, `{"reseller_id":"`+reseller.ID+`"}`, "Idempotency-Key", "old-key")
	if again.Code != http.StatusAccepted || again.Body.String() != rec.Body.String() {
		t.Fatalf("the replay answers the same partnership: %d %s", again.Code, again.Body)
	}
}
