package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
)

// TestContactAddressMustBeTheCustomers: audit §4. A customer address on the
// reseller's or the provider's e-mail domain (or, for a registered customer,
// off its domain) is refused unless the reseller says why; the reason is kept
// and shown. The partners of the harness all write from x.example.
func TestContactAddressMustBeTheCustomers(t *testing.T) {
	h := newHarness(t, &fakeTemporal{}, nil)
	provider, _ := seedPartner(t, h.st, models.PartnerTypeIndirectProvider)
	_, key := h.directBillReseller(provider)
	code := func(body []byte) string {
		var p struct{ Code string }
		_ = json.Unmarshal(body, &p)
		return p.Code
	}

	invite := func(email, reason string) (int, []byte) {
		rec := h.call(http.MethodPost, "/v1/invitations", key, `{"provider_id":"`+provider.ID+`","customer":{"company_name":"Northwind","email":"`+email+`"},"contact_email_reason":"`+reason+`"}`)
		return rec.Code, rec.Body.Bytes()
	}
	for _, email := range []string{"sales@x.example", "ops@mail.x.example", "SALES@X.EXAMPLE"} {
		if status, body := invite(email, ""); status != http.StatusUnprocessableEntity || code(body) != string(oapi.ContactEmailNotCustomers) {
			t.Errorf("invitation to %s: %d %s", email, status, body)
		}
	}
	if status, body := invite("admin@northwind.example", ""); status != http.StatusAccepted {
		t.Fatalf("invitation to the customer's own address: %d %s", status, body)
	}
	status, body := invite("northwind@x.example", "Northwind's mail is hosted by us")
	if status != http.StatusAccepted {
		t.Fatalf("invitation with a reason: %d %s", status, body)
	}
	var inv oapi.Invitation
	if err := json.Unmarshal(body, &inv); err != nil || inv.ContactEmailReason != "Northwind's mail is hosted by us" {
		t.Fatalf("the reason is not kept: %v %s", err, body)
	}
	id := inv.Id
	inv = oapi.Invitation{}
	if rec := h.call(http.MethodGet, "/v1/invitations/"+id, key, ""); rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &inv) != nil || inv.ContactEmailReason == "" {
		t.Fatalf("the reason is not shown: %d %s", rec.Code, rec.Body)
	}

	// Correcting the address later is held to the same rule.
	if rec := h.call(http.MethodPatch, "/v1/invitations/"+invitationTo(t, h, key, provider.ID, "ceo@northwind.example"), key, `{"customer":{"email":"sales@x.example"}}`); rec.Code != http.StatusUnprocessableEntity || code(rec.Body.Bytes()) != string(oapi.ContactEmailNotCustomers) {
		t.Errorf("correction to the reseller's domain: %d %s", rec.Code, rec.Body)
	}

	register := func(domain, email, reason string) (int, []byte) {
		rec := h.call(http.MethodPost, "/v1/customers", key, `{"company_name":"Woodgrove","domain":"`+domain+`","contact_email":"`+email+`","contact_email_reason":"`+reason+`",`+billTo+`}`)
		return rec.Code, rec.Body.Bytes()
	}
	for _, c := range []struct{ domain, email string }{
		{"woodgrove.example", "it@contoso.example"},        // another company's domain
		{"woodgrove.example", "it@x.example"},              // the reseller's own
		{"woodgrove.example", "it@woodgrove.example.evil"}, // a look-alike
	} {
		if status, body := register(c.domain, c.email, ""); status != http.StatusUnprocessableEntity || code(body) != string(oapi.ContactEmailNotCustomers) {
			t.Errorf("customer %s with %s: %d %s", c.domain, c.email, status, body)
		}
	}
	if status, body := register("woodgrove.example", "it@eu.woodgrove.example", ""); status != http.StatusCreated {
		t.Errorf("an address on a subdomain: %d %s", status, body)
	}
	status, body = register("fourthcoffee.example", "owner@fourthcoffee-mail.example", "the owner uses the family domain")
	var cust oapi.CustomerDetail
	if status != http.StatusCreated || json.Unmarshal(body, &cust) != nil || cust.ContactEmailReason != "the owner uses the family domain" {
		t.Errorf("a customer with a reason: %d %s", status, body)
	}

	// A bulk file has no room for a reason: such a row is refused with the code.
	rec := h.call(http.MethodPost, "/v1/bulk-jobs", key, `{"kind":"invitation","provider_id":"`+provider.ID+`","dry_run":true,"rows":[`+
		`{"company_name":"A","email":"a@a-corp.example"},{"company_name":"B","email":"b@x.example"}]}`)
	var verdicts struct{ Verdicts []oapi.BulkVerdict }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &verdicts) != nil || len(verdicts.Verdicts) != 2 ||
		!verdicts.Verdicts[0].Ok || verdicts.Verdicts[1].Code != oapi.ContactEmailNotCustomers {
		t.Errorf("bulk dry run: %d %s", rec.Code, rec.Body)
	}
}

func invitationTo(t *testing.T, h *harness, key, providerID, email string) string {
	t.Helper()
	rec := h.call(http.MethodPost, "/v1/invitations", key, `{"provider_id":"`+providerID+`","customer":{"company_name":"Northwind","email":"`+email+`"}}`)
	var inv oapi.Invitation
	if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &inv) != nil {
		t.Fatalf("invitation: %d %s", rec.Code, rec.Body)
	}
	return inv.Id
}
