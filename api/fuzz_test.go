package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// runningTemporal starts every workflow and answers updates as if the
// onboarding had ended: what a body can do to the API itself is under test.
type runningTemporal struct{ fakeTemporal }

func (*runningTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewNotFound("workflow not found")
}

// FuzzEveryBody: audit §11 and §15. Any body, sent to any operation that
// takes one (the admin routes and every create included), through the whole
// server on a real database, is answered without a 5xx.
func FuzzEveryBody(f *testing.F) {
	var ops []string
	for key, op := range specOperations {
		if op.jsonBody {
			ops = append(ops, key)
		}
	}
	sort.Strings(ops)

	st := storetest.New(f, storetest.Dialects[1])
	cfg := config.Default()
	cfg.AdminToken = "csp_admin_fuzz_0123456789abcdef0123456789"
	cfg.AllowConsentAttestation = true
	e := New(Deps{Store: st, Temporal: &runningTemporal{}, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	provider, providerKey := seedPartner(f, st, models.PartnerTypeIndirectProvider)
	reseller, resellerKey := seedPartner(f, st, models.PartnerTypeReseller)
	now := time.Now().UTC()
	if err := st.CreatePartnership(context.Background(), &models.Partnership{ID: newID(), ProviderID: provider.ID, ResellerID: reseller.ID,
		Status: models.PartnershipActive, WorkflowID: "partnership:fuzz", ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}); err != nil {
		f.Fatal(err)
	}
	ids := strings.NewReplacer(":partner_id", reseller.ID, ":id", "0190a4b6-0000-7000-8000-000000000001")

	bill := `"bill_to":{"company_name":"W","address_line1":"1 Main St","city":"Seattle","postal_code":"98101","country":"US","email":"billing@w.example","phone":"+1 425 555 0100"}`
	seeds := []string{
		`{}`, `[]`, `null`, `"x"`, `{`, `{"reason":"\u0000"}`, `{"reason":"ok"}`,
		`{"name":"R","type":"reseller","TYPE":"bogus","contact_email":"a@b.example"}`,
		`{"name":"R\u0000","type":"reseller","contact_email":"a@b.example"}`,
		`{"reseller_id":"` + reseller.ID + `"}`,
		`{"provider_id":"` + provider.ID + `","customer":{"company_name":"N\u0000","email":"a@b.example"}}`,
		`{"provider_id":"` + provider.ID + `","customer":{"company_name":"N","email":"a@b.example"},"message":"go to evil.zip?x={{link}}"}`,
		`{"provider_id":"` + provider.ID + `","customer":{"company_name":"N","email":"a@b.example"}}`,
		`{"customer_id":"c","provider_id":"` + provider.ID + `","share_bill_to":true,"consent":{"METHOD":"x"}}`,
		`{"customer_id":"c","provider_id":"` + provider.ID + `","share_bill_to":true,"consent":{"method":"partner_attestation","signer_name":"A\u0000","signer_email":"a@b.example","obtained_at":"2026-11-20T09:00:00Z","evidence":"0123456789\u0000"}}`,
		`{"company_name":"W","domain":"w.example","contact_email":"a@w.example",` + bill + `}`,
		`{"provider_id":"` + provider.ID + `","company_name":"W","domain":"w2.example","contact_email":"a@w.example",` + bill + `}`,
		`{"tenant_id":"0f8fad5b-d9cb-469f-a165-70867728950e"}`,
	}
	for i := range ops {
		for _, s := range seeds {
			f.Add(uint8(i), s, false)
			f.Add(uint8(i), s, true)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string, asProvider bool) {
		key := ops[int(which)%len(ops)]
		method, route, _ := strings.Cut(key, " ")
		req := httptest.NewRequest(method, ids.Replace(route), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(route, "/v1/admin/"):
			req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
		case asProvider:
			req.Header.Set("Authorization", "Bearer "+providerKey)
		default:
			req.Header.Set("Authorization", "Bearer "+resellerKey)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s with %q: %d %s", key, body, rec.Code, rec.Body)
		}
	})
}
