package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/workflows"
)

type signal struct{ workflowID, name string }

// recordingSignaler keeps the signals sent; fail makes the next ones fail.
type recordingSignaler struct {
	mu   sync.Mutex
	sent []signal
	args []any
	fail error
}

func (r *recordingSignaler) SignalWorkflow(_ context.Context, workflowID, _, name string, arg any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.sent = append(r.sent, signal{workflowID, name})
	r.args = append(r.args, arg)
	return nil
}

func (r *recordingSignaler) signals() []signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]signal(nil), r.sent...)
}

type pcEnv struct {
	t       *testing.T
	st      *store.Store
	e       http.Handler
	signer  *simulator.WebhookSigner
	signals *recordingSignaler
}

const pcRelationship = "5e1f0c8a-2222-4b7c-8d9e-0000000000aa"

func newPCEnv(t *testing.T) *pcEnv {
	signer, err := simulator.NewWebhookSigner()
	require.NoError(t, err)
	t.Cleanup(signer.Close)
	st := storetest.New(t, migrations.SQLite)
	sig := &recordingSignaler{}
	finder := GDAPWorkflowFinderFunc(func(_ context.Context, id string) (string, error) {
		if id == pcRelationship {
			return "gdap-wf-1", nil
		}
		return "", nil
	})
	v := partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: []string{signer.CertHost()}, Roots: signer.Roots(), HTTPClient: signer.HTTPClient()}, st)
	e := New(Deps{Store: st, Temporal: &fakeTemporal{}, Config: config.Default(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PartnerCenter: PartnerCenterWebhooks{Verifier: v, Signals: sig, GDAPWorkflows: finder}})
	return &pcEnv{t: t, st: st, e: e, signer: signer, signals: sig}
}

func pcEvent(name, uri string, at time.Time) []byte {
	b, _ := json.Marshal(partnercenter.Event{EventName: name, ResourceURI: uri, ResourceName: "GranularAdminRelationship",
		ResourceChangeUtcDate: at.UTC().Format("2006-01-02T15:04:05.0000000+00:00")})
	return b
}

// post delivers body, signed unless edit changes the headers.
func (p *pcEnv) post(body []byte, edit ...func(http.Header)) *httptest.ResponseRecorder {
	req, err := p.signer.Request(context.Background(), "/webhooks/partner-center", body)
	require.NoError(p.t, err)
	for _, f := range edit {
		f(req.Header)
	}
	rec := httptest.NewRecorder()
	p.e.ServeHTTP(rec, req)
	return rec
}

func ackOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var a struct{ Event, Action string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
	return a.Action
}

func TestPartnerCenterWebhookSignalsTheGDAPWorkflow(t *testing.T) {
	p := newPCEnv(t)
	body := pcEvent(partnercenter.EventGDAPRelationshipApproved, "https://partner.microsoft.com/granularAdminRelationships/"+pcRelationship, time.Now())
	require.Equal(t, pcSignalled, ackOf(t, p.post(body)))
	require.Equal(t, []signal{{"gdap-wf-1", workflows.SignalGDAPChanged}}, p.signals.signals())

	// The same delivery again: refused, nothing signalled.
	rec := p.post(body)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Body.String(), `"code":"unauthorized"`)
	require.Len(t, p.signals.signals(), 1)

	// An access assignment of the same relationship wakes the same workflow.
	body = pcEvent(partnercenter.EventGDAPAccessAssignmentActivated, "https://partner.microsoft.com/granularAdminRelationships/"+pcRelationship+"/accessAssignments/a1", time.Now())
	require.Equal(t, pcSignalled, ackOf(t, p.post(body)))
	require.Len(t, p.signals.signals(), 2)
}

func TestPartnerCenterWebhookRefusesWithoutSignalling(t *testing.T) {
	p := newPCEnv(t)
	uri := "https://partner.microsoft.com/granularAdminRelationships/" + pcRelationship
	body := pcEvent(partnercenter.EventGDAPRelationshipTerminated, uri, time.Now())
	for name, edit := range map[string]func(http.Header){
		"unsigned":             func(h http.Header) { h.Del("Authorization") },
		"mis-signed":           func(h http.Header) { h.Set("Authorization", "Signature "+p.signer.Sign([]byte("another body"))) },
		"certificate off-host": func(h http.Header) { h.Set(partnercenter.HeaderCertificateURL, "https://certs.evil.example/c.cer") },
	} {
		rec := p.post(body, edit)
		require.Equal(t, http.StatusUnauthorized, rec.Code, name)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), name)
	}
	stale := pcEvent(partnercenter.EventGDAPRelationshipTerminated, uri, time.Now().Add(-48*time.Hour))
	require.Equal(t, http.StatusUnauthorized, p.post(stale).Code)
	require.Empty(t, p.signals.signals())
	// None of the refusals used up the delivery: signed properly, it is accepted.
	require.Equal(t, pcSignalled, ackOf(t, p.post(body)))
}

func TestPartnerCenterWebhookAcknowledgesWhatNobodyWaitsOn(t *testing.T) {
	p := newPCEnv(t)
	now := time.Now()
	require.Equal(t, pcValidation, ackOf(t, p.post(pcEvent(partnercenter.EventTest, "https://api.partnercenter.microsoft.com/webhooks/v1/registration/validationEvents/x", now))))
	require.Equal(t, pcIgnored, ackOf(t, p.post(pcEvent("subscription-updated", "https://api.partnercenter.microsoft.com/v1/customers/c/subscriptions/s", now))))
	require.Equal(t, pcNothingWaiting, ackOf(t, p.post(pcEvent(partnercenter.EventResellerRelationshipAccepted, "https://api.partnercenter.microsoft.com/v1/customers/4b2a6e33-8791-4386-bd2b-0d55baf25039", now))))
	require.Equal(t, pcNothingWaiting, ackOf(t, p.post(pcEvent(partnercenter.EventGDAPRelationshipApproved, "https://partner.microsoft.com/granularAdminRelationships/unknown", now))))
	require.Empty(t, p.signals.signals())
}

// A customer's acceptance at Microsoft wakes the invitations waiting for
// that customer tenant (and no other), with the tenant as the signal's
// argument.
func TestPartnerCenterWebhookWakesTheInvitationWaitingForTheTenant(t *testing.T) {
	p := newPCEnv(t)
	const tenant = "4b2a6e33-8791-4386-bd2b-0d55baf25039"
	now := time.Now().UTC()
	for _, id := range []string{"r", "p"} {
		require.NoError(t, p.st.DB().Create(&models.Partner{ID: id, Name: id, Type: models.PartnerTypeReseller, ContactEmail: id + "@x.example", APIKeyHash: "unused-" + id, CreatedAt: now, UpdatedAt: now}).Error)
	}
	for i, row := range []models.Invitation{
		{ID: "inv-waiting", Status: models.InvitationWaitingForPartnerCenter, CustomerTenantID: tenant},
		{ID: "inv-other-tenant", Status: models.InvitationWaitingForPartnerCenter, CustomerTenantID: "0b2a6e33-8791-4386-bd2b-0d55baf25039"},
		{ID: "inv-done", Status: models.InvitationCompleted, CustomerTenantID: tenant},
	} {
		row.WorkflowID, row.ResellerID, row.ProviderID, row.CustomerEmail = workflows.InvitationWorkflowID(row.ID), "r", "p", "it@contoso.example"
		row.ExpiresAt, row.CreatedAt, row.UpdatedAt = now.Add(time.Hour), now.Add(time.Duration(i)*time.Second), now
		require.NoError(t, p.st.DB().Create(&row).Error)
	}
	body := pcEvent(partnercenter.EventIndirectResellerRelationshipAcc, "https://api.partnercenter.microsoft.com/v1/customers/"+strings.ToUpper(tenant), now)
	require.Equal(t, pcSignalled, ackOf(t, p.post(body)))
	require.Equal(t, []signal{{workflows.InvitationWorkflowID("inv-waiting"), workflows.SignalResellerRelationshipAccepted}}, p.signals.signals())
	require.Equal(t, []any{tenant}, p.signals.args)
}

// A workflow that has ended is not an error; Temporal being unreachable is:
// the answer is 503 and the delivery is forgotten, so Partner Center's
// retry is accepted and signals.
func TestPartnerCenterWebhookRetryAfterTemporalFailed(t *testing.T) {
	p := newPCEnv(t)
	body := pcEvent(partnercenter.EventGDAPRelationshipActivated, "https://partner.microsoft.com/granularAdminRelationships/"+pcRelationship, time.Now())
	p.signals.fail = serviceerror.NewUnavailable("connection refused")
	require.Equal(t, http.StatusServiceUnavailable, p.post(body).Code)
	p.signals.fail = nil
	require.Equal(t, pcSignalled, ackOf(t, p.post(body)))

	p.signals.fail = serviceerror.NewNotFound("workflow execution already completed")
	body = pcEvent(partnercenter.EventGDAPRelationshipExpired, "https://partner.microsoft.com/granularAdminRelationships/"+pcRelationship, time.Now())
	require.Equal(t, pcNothingWaiting, ackOf(t, p.post(body)))
}

type daRow struct{ ID string }

func TestGDAPWorkflowsByRow(t *testing.T) {
	lookup := func(_ context.Context, graphID string) (daRow, error) {
		switch graphID {
		case "g-1":
			return daRow{ID: "da-1"}, nil
		case "broken":
			return daRow{}, errors.New("database down")
		}
		return daRow{}, store.ErrNotFound
	}
	f := GDAPWorkflowsByRow(lookup, func(r daRow) string { return r.ID }, func(id string) string { return "delegated-admin:" + id })
	ctx := context.Background()
	id, err := f.GDAPWorkflowFor(ctx, "g-1")
	require.NoError(t, err)
	require.Equal(t, "delegated-admin:da-1", id)
	id, err = f.GDAPWorkflowFor(ctx, "g-2")
	require.NoError(t, err)
	require.Empty(t, id)
	_, err = f.GDAPWorkflowFor(ctx, "broken")
	require.Error(t, err)
}

// The receiver is unauthenticated until a delivery verifies: it is limited
// per client address, as /v1 is.
func TestPartnerCenterWebhookRateLimited(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.PerAddr = config.Rate{PerSecond: 1, Burst: 1}
	e := New(Deps{Store: storetest.New(t, migrations.SQLite), Temporal: &fakeTemporal{}, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	codes := []int{}
	for range 2 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/partner-center", nil))
		codes = append(codes, rec.Code)
	}
	require.Equal(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, codes)
}
