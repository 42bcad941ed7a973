package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// flakyTemporal is the edge of this unit test: a workflow service that is
// down until it is up. Everything else is real.
type flakyTemporal struct {
	down   bool
	starts []string
}

func (f *flakyTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	if f.down {
		return nil, serviceerror.NewUnavailable("connection refused")
	}
	f.starts = append(f.starts, o.ID)
	return nil, nil
}
func (f *flakyTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewUnavailable("not in this test")
}
func (f *flakyTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return nil, nil
}
func (f *flakyTemporal) GetWorkflow(context.Context, string, string) client.WorkflowRun { return nil }

func seedPartner(t testing.TB, st *store.Store, typ string) (models.Partner, string) {
	t.Helper()
	key, hash := secret.New(secret.APIKeyPrefix)
	now := time.Now().UTC()
	p := models.Partner{ID: newID(), Name: typ, Type: typ, ContactEmail: typ + "@x.example", APIKeyHash: hash, EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
	if err := st.CreatePartner(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	return p, key
}

func TestAStartThatFailsLeavesNothingWaitingAndCanBeRetried(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	temporal := &flakyTemporal{down: true}
	e := New(Deps{Store: st, Temporal: temporal, Config: config.Default(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	provider, providerKey := seedPartner(t, st, models.PartnerTypeIndirectProvider)
	reseller, resellerKey := seedPartner(t, st, models.PartnerTypeReseller)
	call := func(method, path, key, body string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}

	// A partnership whose start fails does not block the pair.
	rec := call(http.MethodPost, "/v1/partnerships", providerKey, `{"reseller_id":"`+reseller.ID+`"}`)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"unavailable"`) {
		t.Fatalf("start while Temporal is down: %d %s", rec.Code, rec.Body)
	}
	temporal.down = false
	if rec := call(http.MethodPost, "/v1/partnerships", providerKey, `{"reseller_id":"`+reseller.ID+`"}`); rec.Code != http.StatusAccepted {
		t.Fatalf("a new invitation of the same reseller: %d %s", rec.Code, rec.Body)
	}

	// An invitation whose start fails is not left waiting, and the same key starts it later.
	ps, _, _ := st.ListPartnerships(context.Background(), provider.ID, models.PartnershipInvited, store.Page{Limit: 5})
	if err := st.SetPartnershipStatus(context.Background(), ps[0].ID, models.PartnershipActive); err != nil {
		t.Fatal(err)
	}
	body := `{"provider_id":"` + provider.ID + `","customer":{"company_name":"Northwind","email":"admin@northwind.example"}}`
	temporal.down = true
	if rec := call(http.MethodPost, "/v1/invitations", resellerKey, body, "Idempotency-Key", "k-1"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("invitation while Temporal is down: %d %s", rec.Code, rec.Body)
	}
	invs, _, _ := st.ListInvitations(context.Background(), reseller.ID, "", store.Page{Limit: 5})
	if len(invs) != 1 || invs[0].Status != models.InvitationFailed {
		t.Fatalf("the unstarted invitation: %+v", invs)
	}
	events, _ := st.Events(context.Background(), invs[0].ID)
	if len(events) != 1 || events[0].Type != "start_failed" {
		t.Fatalf("timeline: %+v", events)
	}
	temporal.down = false
	if rec := call(http.MethodPost, "/v1/invitations", resellerKey, body, "Idempotency-Key", "k-1"); rec.Code != http.StatusAccepted ||
		!strings.Contains(rec.Body.String(), invs[0].ID) {
		t.Fatalf("retry with the same key: %d %s", rec.Code, rec.Body)
	}
	if last := temporal.starts[len(temporal.starts)-1]; last != "invitation:"+invs[0].ID {
		t.Fatalf("the retry started %s", last)
	}
}
