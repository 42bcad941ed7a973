package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// TestEndRelationship: only the reseller or the provider may end a
// relationship; bad reasons are 422s; the end is one timeline event (and one
// relationship.ended delivery per party's endpoint, none for anyone else);
// ending it again changes nothing.
func TestEndRelationship(t *testing.T) {
	h := newHarness(t, &fakeTemporal{}, nil)
	ctx := context.Background()
	provider, providerKey := seedPartner(t, h.st, models.PartnerTypeIndirectProvider)
	reseller, resellerKey := seedPartner(t, h.st, models.PartnerTypeReseller)
	other, otherKey := seedPartner(t, h.st, models.PartnerTypeReseller)
	now := time.Now().UTC()
	cust := models.Customer{ID: newID(), CompanyName: "Northwind", ContactEmail: "it@northwind.example", AcquiredVia: "direct_bill", CreatedBy: reseller.ID, CreatedAt: now, UpdatedAt: now}
	if err := h.st.CreateCustomer(ctx, &cust, "reseller"); err != nil {
		t.Fatal(err)
	}
	rel, err := h.st.CreateRelationship(ctx, models.Relationship{ID: newID(), CustomerID: cust.ID, ProviderID: provider.ID, ResellerID: reseller.ID,
		Source: "invitation", SourceID: "inv-1", Status: models.RelationshipActive, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	endpoints := map[string]string{}
	for _, p := range []models.Partner{provider, reseller, other} {
		ep := models.WebhookEndpoint{ID: "whe_" + p.ID, PartnerID: p.ID, URL: "https://hooks.example/" + p.ID, Events: []string{"relationship.*"},
			SecretSealed: "sealed", Enabled: true}
		if err := h.st.CreateWebhookEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		endpoints[p.ID] = ep.ID
	}
	path := "/v1/relationships/" + rel.ID

	for _, c := range []struct {
		what, method, path, key, body string
		want                          int
	}{
		{"a stranger reads", http.MethodGet, path, otherKey, "", http.StatusNotFound},
		{"a stranger ends", http.MethodPost, path + "/end", otherKey, `{}`, http.StatusNotFound},
		{"an unknown one", http.MethodPost, "/v1/relationships/nope/end", resellerKey, `{}`, http.StatusNotFound},
		{"a reason with control characters", http.MethodPost, path + "/end", resellerKey, `{"reason":"moved\u0000"}`, http.StatusUnprocessableEntity},
		{"a reason too long", http.MethodPost, path + "/end", resellerKey, `{"reason":"` + strings.Repeat("x", 1001) + `"}`, http.StatusUnprocessableEntity},
		{"an unknown field", http.MethodPost, path + "/end", resellerKey, `{"why":"x"}`, http.StatusUnprocessableEntity},
	} {
		if rec := h.call(c.method, c.path, c.key, c.body); rec.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.what, rec.Code, rec.Body, c.want)
		}
	}
	if r, _ := h.st.Relationship(ctx, rel.ID); r.Status != models.RelationshipActive {
		t.Fatalf("a refused end changed the relationship: %+v", r)
	}

	type answer struct {
		Status, EndedBy, EndReason string
		EndedAt                    time.Time
		Events                     []map[string]any
	}
	decode := func(body []byte) answer {
		var raw struct {
			Status    string           `json:"status"`
			EndedBy   string           `json:"ended_by"`
			EndReason string           `json:"end_reason"`
			EndedAt   time.Time        `json:"ended_at"`
			Events    []map[string]any `json:"events"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		return answer{raw.Status, raw.EndedBy, raw.EndReason, raw.EndedAt, raw.Events}
	}
	rec := h.call(http.MethodPost, path+"/end", resellerKey, `{"reason":"customer moved to another partner"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("end: %d %s", rec.Code, rec.Body)
	}
	got := decode(rec.Body.Bytes())
	if got.Status != models.RelationshipTerminated || got.EndedBy != reseller.ID || got.EndReason != "customer moved to another partner" || got.EndedAt.IsZero() ||
		len(got.Events) != 1 || got.Events[0]["type"] != "relationship_ended" || got.Events[0]["reason"] != got.EndReason || got.Events[0]["ended_by"] != reseller.ID {
		t.Fatalf("ended: %s", rec.Body)
	}
	// Again, by the provider: nothing changes, the answer is the same.
	rec = h.call(http.MethodPost, path+"/end", providerKey, ``)
	if again := decode(rec.Body.Bytes()); rec.Code != http.StatusOK || again.EndedBy != reseller.ID || !again.EndedAt.Equal(got.EndedAt) || len(again.Events) != 1 {
		t.Fatalf("ended again: %d %s", rec.Code, rec.Body)
	}
	if rec := h.call(http.MethodGet, path, providerKey, ""); rec.Code != http.StatusOK || len(decode(rec.Body.Bytes()).Events) != 1 {
		t.Fatalf("the provider reads: %d %s", rec.Code, rec.Body)
	}
	if rec := h.call(http.MethodGet, "/v1/relationships?status=terminated", resellerKey, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), rel.ID) {
		t.Fatalf("list of ended ones: %d %s", rec.Code, rec.Body)
	}

	// The timeline event is the webhook: one delivery to each party's endpoint.
	for partnerID, want := range map[string]int{provider.ID: 1, reseller.ID: 1, other.ID: 0} {
		rows, _, err := h.st.ListWebhookDeliveries(ctx, endpoints[partnerID], store.WebhookDeliveryFilter{}, store.Page{Limit: 10})
		if err != nil || len(rows) != want {
			t.Fatalf("partner %s: %d deliveries, want %d (%v)", partnerID, len(rows), want, err)
		}
		if want == 1 && (rows[0].Type != "relationship.ended" || rows[0].ObjectID != rel.ID || !strings.Contains(rows[0].Payload, `"object":"relationship"`)) {
			t.Errorf("delivery %+v", rows[0])
		}
	}
}
