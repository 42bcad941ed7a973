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
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// harness is the API on a real SQLite store and a stand-in workflow service.
type harness struct {
	t   *testing.T
	st  *store.Store
	e   *echo.Echo
	cfg config.Config
}

func newHarness(t *testing.T, temporal Temporal, adjust func(*config.Config)) *harness {
	st := storetest.New(t, storetest.Dialects[1])
	cfg := config.Default()
	cfg.AdminToken = "csp_admin_0123456789abcdef0123456789abcdef"
	if adjust != nil {
		adjust(&cfg)
	}
	return &harness{t: t, st: st, cfg: cfg, e: New(Deps{Store: st, Temporal: temporal, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})}
}

func (h *harness) call(method, path, key, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	return rec
}

// directBillReseller is a reseller with an active partnership with provider.
func (h *harness) directBillReseller(provider models.Partner) (models.Partner, string) {
	r, key := seedPartner(h.t, h.st, models.PartnerTypeReseller)
	if err := h.st.DB().Model(&models.Partner{}).Where("id = ?", r.ID).Update("direct_bill", true).Error; err != nil {
		h.t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := h.st.CreatePartnership(context.Background(), &models.Partnership{ID: newID(), ProviderID: provider.ID, ResellerID: r.ID,
		Status: models.PartnershipActive, WorkflowID: "partnership:" + r.ID, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}); err != nil {
		h.t.Fatal(err)
	}
	return r, key
}

const billTo = `"bill_to":{"company_name":"W","address_line1":"1 Main St","city":"Seattle","postal_code":"98101","country":"US","email":"billing@w.example","phone":"+1 425 555 0100"}`

// TestDomainConflictsDoNotRevealOtherPartnersCustomers: audit §16.
func TestDomainConflictsDoNotRevealOtherPartnersCustomers(t *testing.T) {
	h := newHarness(t, &fakeTemporal{}, nil)
	provider, _ := seedPartner(t, h.st, models.PartnerTypeIndirectProvider)
	_, keyA := h.directBillReseller(provider)
	_, keyB := h.directBillReseller(provider)
	customer := func(key, domain string) *httptest.ResponseRecorder {
		return h.call(http.MethodPost, "/v1/customers", key, `{"company_name":"Woodgrove","domain":"`+domain+`","contact_email":"a@`+domain+`",`+billTo+`}`)
	}
	tenant := func(key, domain string) *httptest.ResponseRecorder {
		return h.call(http.MethodPost, "/v1/customer-tenant-requests", key, `{"provider_id":"`+provider.ID+`","company_name":"L","domain":"`+domain+`","contact_email":"a@`+domain+`",`+billTo+`}`)
	}
	rec := customer(keyA, "woodgrove.example")
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	if rec := tenant(keyA, "litware.example"); rec.Code != http.StatusAccepted {
		t.Fatalf("tenant request: %d %s", rec.Code, rec.Body)
	}

	// The owner is told where its customer or request is.
	if rec := customer(keyA, "woodgrove.example"); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "your customer") {
		t.Fatalf("owner: %d %s", rec.Code, rec.Body)
	}
	if rec := tenant(keyA, "litware.example"); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "your tenant request") {
		t.Fatalf("owner's request: %d %s", rec.Code, rec.Body)
	}
	// Another partner gets one neutral answer, whoever holds the domain and how.
	detail := func(rec *httptest.ResponseRecorder) string {
		var p Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		return strings.NewReplacer("woodgrove.example", "D", "litware.example", "D").Replace(p.Detail)
	}
	answers := []*httptest.ResponseRecorder{customer(keyB, "woodgrove.example"), tenant(keyB, "woodgrove.example"), tenant(keyB, "litware.example")}
	for _, rec := range answers {
		body := rec.Body.String()
		if rec.Code != http.StatusConflict || strings.Contains(body, "registered to a customer") || strings.Contains(body, "already waiting") ||
			strings.Contains(body, created.ID) || detail(rec) != detail(answers[0]) {
			t.Fatalf("another partner: %d %s (first answer %q)", rec.Code, body, detail(answers[0]))
		}
	}
}

type unhealthyTemporal struct{ fakeTemporal }

func (*unhealthyTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return nil, errors.New("dial tcp temporal-internal.corp:7233: connection refused")
}

// TestLessIsSaidToStrangers: audit §17. /readyz, X-Request-Id, HSTS and the
// customer's address and user agent on timelines.
func TestLessIsSaidToStrangers(t *testing.T) {
	t.Run("readyz", func(t *testing.T) {
		h := newHarness(t, &unhealthyTemporal{}, nil)
		rec := h.call(http.MethodGet, "/readyz", "", "")
		if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"status":"not_ready"}` {
			t.Fatalf("public: %d %s", rec.Code, rec.Body)
		}
		if rec := h.call(http.MethodGet, "/readyz", h.cfg.AdminToken, ""); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "temporal-internal.corp") {
			t.Fatalf("operator: %d %s", rec.Code, rec.Body)
		}
		if rec := newHarness(t, &fakeTemporal{}, nil).call(http.MethodGet, "/readyz", "", ""); rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"status":"ready"}` {
			t.Fatalf("ready: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("X-Request-Id", func(t *testing.T) {
		h := newHarness(t, &fakeTemporal{}, nil)
		for sent, kept := range map[string]bool{
			"abc-123_x.y": true, strings.Repeat("a", 64): true,
			strings.Repeat("a", 65): false, "<script>": false, "a b": false, "a\u00e9": false, "x;rm": false,
		} {
			got := h.call(http.MethodGet, "/healthz", "", "", "X-Request-Id", sent).Header().Get("X-Request-Id")
			if (got == sent) != kept || got == "" || !requestIDPattern.MatchString(got) {
				t.Errorf("sent %q, answered %q", sent, got)
			}
		}
	})
	t.Run("HSTS", func(t *testing.T) {
		if got := newHarness(t, &fakeTemporal{}, nil).call(http.MethodGet, "/healthz", "", "").Header().Get("Strict-Transport-Security"); got != "" {
			t.Fatalf("HSTS over http: %q", got)
		}
		h := newHarness(t, &fakeTemporal{}, func(c *config.Config) { c.PublicBaseURL = "https://onboard.example" })
		if got := h.call(http.MethodGet, "/healthz", "", "").Header().Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
			t.Fatalf("no HSTS over https: %q", got)
		}
	})
	t.Run("customer address on timelines", func(t *testing.T) {
		h := newHarness(t, &fakeTemporal{}, nil)
		provider, providerKey := seedPartner(t, h.st, models.PartnerTypeIndirectProvider)
		_, resellerKey := h.directBillReseller(provider)
		rec := h.call(http.MethodPost, "/v1/invitations", resellerKey, `{"provider_id":"`+provider.ID+`","customer":{"company_name":"Northwind","email":"admin@northwind.example"}}`)
		var inv struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &inv); err != nil || rec.Code != http.StatusAccepted {
			t.Fatalf("invitation: %d %s", rec.Code, rec.Body)
		}
		if _, err := h.st.AppendEvent(context.Background(), models.OnboardingEvent{SubjectID: inv.ID, Seq: 3, Type: "customer_accepted", At: time.Now(),
			Details: map[string]string{"ip": "198.51.100.23", "user_agent": "Mobile Safari", "reason": "ok"}}); err != nil {
			t.Fatal(err)
		}
		reseller := h.call(http.MethodGet, "/v1/invitations/"+inv.ID, resellerKey, "").Body.String()
		if !strings.Contains(reseller, "198.51.100.23") || !strings.Contains(reseller, "Mobile Safari") {
			t.Fatalf("the reseller does not see the evidence: %s", reseller)
		}
		prov := h.call(http.MethodGet, "/v1/invitations/"+inv.ID, providerKey, "").Body.String()
		if strings.Contains(prov, "198.51.100.23") || strings.Contains(prov, "Mobile Safari") || !strings.Contains(prov, "customer_accepted") {
			t.Fatalf("the provider sees the customer's address: %s", prov)
		}
	})
}
