package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
	"github.com/csp-onboarding/onboarding/models"
)

func mailsToSubject(s *mailtest.Server, to, subjectContains string) []mailtest.Message {
	var out []mailtest.Message
	for _, m := range mailsTo(s, to) {
		if strings.Contains(m.Subject, subjectContains) {
			out = append(out, m)
		}
	}
	return out
}

var consentLink = regexp.MustCompile(`http://127\.0\.0\.1:\d+/c/[A-Za-z0-9_-]+`)

func billTo(company string) map[string]any {
	return map[string]any{"company_name": company, "address_line1": "1 Main Street", "city": "Seattle", "postal_code": "98101",
		"country": "US", "email": "billing@" + slug(company) + ".example", "phone": "+1 425 555 0100"}
}

func slug(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "-") }

// directBillReseller sets up a direct-bill reseller with an approved
// enrollment, an active partnership and one direct-bill customer.
func (p *product) directBillReseller(name string) (provider, reseller partner, customerID string) {
	p.t.Helper()
	provider = p.createPartner(name+" Distribution", "indirect_provider", false)
	reseller = p.createPartner(name+" Reseller", "reseller", true)
	p.activePartnership(provider, reseller)
	p.must(202, p.call("POST", "/v1/enrollment", reseller.key, map[string]any{}))
	p.eventually("enrollment submitted", func() bool {
		return p.call("GET", "/v1/me", reseller.key, nil).json["enrollment"].(map[string]any)["status"] == "submitted"
	})
	p.must(200, p.call("POST", "/v1/admin/enrollments/"+reseller.id+"/approve", adminToken, map[string]any{}))
	p.eventually("enrollment approved", func() bool {
		return p.call("GET", "/v1/me", reseller.key, nil).json["enrollment"].(map[string]any)["status"] == "approved"
	})
	saveHistory(p.t, p.app.Temporal, "enrollment:"+reseller.id, "enrollment-approved-round2.json")
	domain := slug(name) + ".example"
	c := p.must(201, p.call("POST", "/v1/customers", reseller.key, map[string]any{
		"company_name": name + " Customer", "domain": domain, "contact_email": "admin@" + domain, "bill_to": billTo(name)}))
	require.Equal(p.t, "direct_bill", c.str("acquired_via"))
	return provider, reseller, c.str("id")
}

func TestExtensionWithCustomerConsentEndToEnd(t *testing.T) {
	p := startProduct(t)
	provider, reseller, customerID := p.directBillReseller("Woodgrove")

	// Before: the provider cannot see the customer nor order for it.
	require.Equal(t, 404, p.call("GET", "/v1/customers/"+customerID, provider.key, nil).status)
	before := p.must(200, p.call("GET", "/v1/customers/"+customerID+"/order-eligibility", reseller.key, nil))
	require.Equal(t, []any{
		map[string]any{"partner_id": reseller.id, "role": "reseller", "can_order": true, "can_transfer": true, "reasons": []any{}},
		map[string]any{"partner_id": provider.id, "role": "indirect_provider", "can_order": false, "can_transfer": false, "reasons": []any{"reseller-relationship-required"}},
	}, before.json["order_eligibility"])

	x := p.must(202, p.call("POST", "/v1/relationship-extensions", reseller.key, map[string]any{
		"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true, "delegated_admin_required": false,
		"consent": map[string]any{"method": "customer_confirmation"}}))
	require.Equal(t, "waiting_for_consent", x.str("status"))
	xid := x.str("id")

	mail, err := p.smtp.WaitFor("admin@woodgrove.example", "asks your consent", 20*time.Second)
	require.NoError(t, err)
	link := consentLink.FindString(mail.Body)
	require.NotEmpty(t, link, mail.Body)

	page := get(t, link, "")
	require.Equal(t, 200, page.status)
	html := string(page.body)
	for _, want := range []string{"Woodgrove Reseller", "Woodgrove Distribution", "1 Main Street", "98101", "billing@woodgrove.example", "No admin rights are given"} {
		require.Contains(t, html, want)
	}
	noRelationshipWithoutConsent(t, p)
	require.Equal(t, 404, p.call("GET", "/v1/customers/"+customerID, provider.key, nil).status, "nothing is shared before consent")
	summary := p.must(200, p.call("GET", "/v1/customers/"+customerID, reseller.key, nil))
	pending := summary.json["pending"].([]any)
	require.Len(t, pending, 1, "the summary shows what waits on the customer")
	require.Equal(t, "relationship_extension", pending[0].(map[string]any)["kind"])
	require.Equal(t, xid, pending[0].(map[string]any)["id"])

	consented := postForm(t, link+"/consent")
	require.Equal(t, 200, consented.status, string(consented.body))
	require.Contains(t, string(consented.body), "consent given")

	var ext response
	p.eventually("extension completed", func() bool {
		ext = p.call("GET", "/v1/relationship-extensions/"+xid, reseller.key, nil)
		return ext.str("status") == "completed"
	})
	require.Equal(t, []string{"extension_requested", "consent_requested", "consent_given", "consent_recorded", "bill_to_shared", "relationship_created"}, eventTypes(ext))
	consent := ext.json["consent"].(map[string]any)
	require.Equal(t, "recorded", consent["status"])
	require.Equal(t, "customer_confirmation", consent["method"])
	require.Equal(t, "emailed_link", consent["identity"], "nobody signed in: the record says so")

	// The consent record holds the evidence, including the exact text shown.
	var rec models.ConsentRecord
	require.NoError(t, p.store.DB().Where("extension_id = ?", xid).Take(&rec).Error)
	require.Equal(t, "e2e-browser/1.0", rec.UserAgent)
	require.Equal(t, "127.0.0.1", rec.IP)
	require.Contains(t, html, strings.Split(rec.TextShown, "\n")[0])
	require.Contains(t, rec.TextShown, "No admin rights are given")
	require.Contains(t, rec.Evidence, "possession of the personal link e-mailed to "+rec.SignerEmail)

	// The provider now sees the customer, its bill-to copy and can order.
	seen := p.must(200, p.call("GET", "/v1/customers/"+customerID, provider.key, nil))
	require.Equal(t, "1 Main Street", seen.json["bill_to"].(map[string]any)["address_line1"])
	rels := seen.json["relationships"].([]any)
	require.Len(t, rels, 1)
	require.Equal(t, "extension", rels[0].(map[string]any)["source"])
	require.Equal(t, false, rels[0].(map[string]any)["delegated_admin"])
	after := p.must(200, p.call("GET", "/v1/customers/"+customerID+"/order-eligibility", provider.key, nil))
	require.Equal(t, true, after.json["order_eligibility"].([]any)[0].(map[string]any)["can_order"])
	_, err = p.smtp.WaitFor("woodgrove.distribution@partners.example", "New reseller relationship", 10*time.Second)
	require.NoError(t, err)

	// A second extension for the same triple is refused.
	again := p.call("POST", "/v1/relationship-extensions", reseller.key, map[string]any{
		"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true})
	require.Equal(t, 422, again.status)
	require.Equal(t, "relationship-exists", again.json["code"])
	gone := postJSON(t, link+"/consent")
	require.Equal(t, 410, gone.status)
	noRelationshipWithoutConsent(t, p)
	saveHistory(t, p.app.Temporal, "extension:"+xid, "extension-consented-round2.json")
	saveHistory(t, p.app.Temporal, "extension:"+xid, "extension-lean-consented-v1.json")
}

func TestExtensionDeclinedAndCancelledCreateNothing(t *testing.T) {
	p := startProduct(t)
	provider, reseller, customerID := p.directBillReseller("Tailspin")
	start := func() (string, string) {
		x := p.must(202, p.call("POST", "/v1/relationship-extensions", reseller.key, map[string]any{
			"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true}))
		var link string
		p.eventually("consent e-mail", func() bool {
			for _, m := range mailsTo(p.smtp, "admin@tailspin.example") {
				if l := consentLink.FindString(m.Body); l != "" && !strings.Contains(strings.Join(p.seenLinks, " "), l) {
					link = l
					return true
				}
			}
			return false
		})
		p.seenLinks = append(p.seenLinks, link)
		return x.str("id"), link
	}

	declineID, declineLink := start()
	declined := postJSON(t, declineLink+"/decline")
	require.Equal(t, 200, declined.status, string(declined.body))
	p.eventually("declined", func() bool {
		return p.call("GET", "/v1/relationship-extensions/"+declineID, reseller.key, nil).str("status") == "consent_declined"
	})
	noRelationshipWithoutConsent(t, p)

	cancelID, cancelLink := start()
	p.must(200, p.call("POST", "/v1/relationship-extensions/"+cancelID+"/cancel", reseller.key, map[string]any{"reason": "customer asked to wait"}))
	p.eventually("cancelled", func() bool {
		return p.call("GET", "/v1/relationship-extensions/"+cancelID, reseller.key, nil).str("status") == "cancelled"
	})
	require.Equal(t, 410, postJSON(t, cancelLink+"/consent").status)
	noRelationshipWithoutConsent(t, p)
	var shares, rels int64
	require.NoError(t, p.store.DB().Model(&models.BillToShare{}).Count(&shares).Error)
	require.NoError(t, p.store.DB().Model(&models.Relationship{}).Count(&rels).Error)
	require.Zero(t, shares)
	require.Zero(t, rels)
}

func TestExtensionGatesOverHTTP(t *testing.T) {
	p := startProduct(t)
	provider, reseller, customerID := p.directBillReseller("Gatekeeper")
	other := p.createPartner("Gate Other Provider", "indirect_provider", false)
	notDirect := p.createPartner("Gate Indirect Only", "reseller", false)
	unenrolled := p.createPartner("Gate Unenrolled", "reseller", true)

	// A customer the reseller acquired through an invitation (R2).
	p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Invited Co", "email": "it@invited.example"}}))
	m, err := p.smtp.WaitFor("it@invited.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, 200, postJSON(t, invitationLink.FindString(m.Body)+"/accept").status)
	var invitedCustomer string
	p.eventually("invited customer", func() bool {
		for _, c := range p.call("GET", "/v1/customers?acquired_via=invitation", reseller.key, nil).json["items"].([]any) {
			invitedCustomer = c.(map[string]any)["id"].(string)
			return true
		}
		return false
	})

	ok := map[string]any{"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true}
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range ok {
			out[kk] = vv
		}
		out[k] = v
		return out
	}
	cases := []struct {
		name   string
		key    string
		body   map[string]any
		status int
		code   string
	}{
		{"R1 not a direct-bill partner", notDirect.key, ok, 422, "not-direct-bill-partner"},
		{"R1 enrollment not approved", unenrolled.key, ok, 422, "enrollment-not-approved"},
		{"R2 customer acquired by invitation", reseller.key, with("customer_id", invitedCustomer), 422, "customer-not-direct-bill"},
		{"R3 provider without partnership", reseller.key, with("provider_id", other.id), 422, "partnership-not-active"},
		{"R4 bill-to sharing not acknowledged", reseller.key, with("share_bill_to", false), 422, "bill-to-sharing-not-acknowledged"},
		{"R5 delegated admin required", reseller.key, with("delegated_admin_required", true), 422, "delegated-admin-requires-invitation"},
		{"R6 attestation not allowed here", reseller.key, with("consent", map[string]any{"method": "partner_attestation", "signer_name": "Ann", "signer_email": "ann@woodgrove.example", "obtained_at": time.Now().Add(-time.Hour), "evidence": "Signed letter of 2 Nov"}), 422, "consent-evidence-invalid"},
		{"unknown consent method", reseller.key, with("consent", map[string]any{"method": "telepathy"}), 422, "validation-failed"},
		{"unknown customer", reseller.key, with("customer_id", "nope"), 404, "not-found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := p.call("POST", "/v1/relationship-extensions", tc.key, tc.body)
			require.Equal(t, tc.status, r.status, string(r.body))
			require.Equal(t, tc.code, r.json["code"], string(r.body))
			require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
			if tc.code == "delegated-admin-requires-invitation" {
				require.Equal(t, "/v1/invitations", r.json["links"].(map[string]any)["invitation"])
				require.Contains(t, r.json["detail"], "invitation")
			}
		})
	}
	t.Run("R2 another reseller's customer is not found", func(t *testing.T) {
		provider2, reseller2, _ := p.directBillReseller("Gatekeeper Two")
		r := p.call("POST", "/v1/relationship-extensions", reseller2.key, map[string]any{"customer_id": customerID, "provider_id": provider2.id, "share_bill_to": true})
		require.Equal(t, 404, r.status, string(r.body))
		require.Equal(t, "not-found", r.json["code"])
	})
	t.Run("R8 reseller cannot direct-bill an invited customer", func(t *testing.T) {
		r := p.must(200, p.call("GET", "/v1/customers/"+invitedCustomer+"/order-eligibility", reseller.key, nil))
		own := r.json["order_eligibility"].([]any)[0].(map[string]any)
		require.Equal(t, false, own["can_order"])
		require.Equal(t, []any{"acquired-as-indirect-reseller"}, own["reasons"])
	})
	t.Run("direct-bill customer validation", func(t *testing.T) {
		bad := billTo("Bad")
		bad["country"], bad["phone"], bad["email"] = "USA", "12", "nope"
		r := p.call("POST", "/v1/customers", reseller.key, map[string]any{"company_name": "", "domain": "Not A Domain", "contact_email": "x", "bill_to": bad})
		require.Equal(t, 422, r.status)
		for _, field := range []string{"company_name", "domain", "contact_email", "bill_to.country", "bill_to.phone", "bill_to.email"} {
			require.Contains(t, string(r.body), `"field":"`+field+`"`)
		}
		dup := p.call("POST", "/v1/customers", reseller.key, map[string]any{"company_name": "Dup", "domain": "gatekeeper.example", "contact_email": "a@gatekeeper.example", "bill_to": billTo("Dup")})
		require.Equal(t, 409, dup.status, "a domain belongs to one customer")
		require.Equal(t, 422, p.call("POST", "/v1/customers", notDirect.key, map[string]any{}).status, "only direct-bill resellers register direct-bill customers")
	})
	t.Run("bill-to stays the reseller's", func(t *testing.T) {
		require.Equal(t, 404, p.call("GET", "/v1/customers/"+customerID, provider.key, nil).status)
		list := p.must(200, p.call("GET", "/v1/customers", reseller.key, nil))
		require.NotContains(t, string(list.body), "1 Main Street", "lists never carry bill-to info")
	})
	noRelationshipWithoutConsent(t, p)
}

func TestExtensionWithPartnerAttestation(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) { c.AllowConsentAttestation = true })
	provider, reseller, customerID := p.directBillReseller("Attested")
	bad := p.call("POST", "/v1/relationship-extensions", reseller.key, map[string]any{
		"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true,
		"consent": map[string]any{"method": "partner_attestation", "signer_name": "Ann", "signer_email": "ann@attested.example",
			"obtained_at": time.Now().Add(48 * time.Hour), "evidence": "x"}})
	require.Equal(t, 422, bad.status)
	require.Equal(t, "consent-evidence-invalid", bad.json["code"])
	require.Contains(t, bad.json["detail"], "future")

	x := p.must(202, p.call("POST", "/v1/relationship-extensions", reseller.key, map[string]any{
		"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true,
		"consent": map[string]any{"method": "partner_attestation", "signer_name": "Ann Beck", "signer_email": "ann@attested.example",
			"obtained_at": time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339), "evidence": "Signed consent letter dated 20 Nov, ref CL-1182"}}))
	p.eventually("attested extension completed", func() bool {
		return p.call("GET", "/v1/relationship-extensions/"+x.str("id"), reseller.key, nil).str("status") == "completed"
	})
	var rec models.ConsentRecord
	require.NoError(t, p.store.DB().Where("extension_id = ?", x.str("id")).Take(&rec).Error)
	require.Equal(t, "partner_attestation", rec.Method)
	require.Equal(t, "Ann Beck", rec.SignerName)
	require.Contains(t, rec.Evidence, "CL-1182")
	require.Empty(t, mailsToSubject(p.smtp, "admin@attested.example", "consent"), "no consent link is sent when the partner attested")
	noRelationshipWithoutConsent(t, p)
}

// noRelationshipWithoutConsent asserts over the database that no extension
// relationship and no bill-to share exists without its consent record.
func noRelationshipWithoutConsent(t *testing.T, p *product) {
	t.Helper()
	var orphans int64
	require.NoError(t, p.store.DB().Model(&models.Relationship{}).
		Where("source = ? AND (consent_id IS NULL OR consent_id NOT IN (SELECT id FROM consent_records))", models.SourceExtension).
		Count(&orphans).Error)
	require.Zero(t, orphans, "extension relationships without consent")
	require.NoError(t, p.store.DB().Model(&models.BillToShare{}).
		Where("consent_id NOT IN (SELECT id FROM consent_records)").Count(&orphans).Error)
	require.Zero(t, orphans, "bill-to shares without consent")
	var wrong int64
	require.NoError(t, p.store.DB().Model(&models.RelationshipExtension{}).
		Where("status IN ? AND id IN (SELECT source_id FROM relationships)", []string{models.ExtensionConsentDeclined, models.ExtensionExpired, models.ExtensionCancelled}).
		Count(&wrong).Error)
	require.Zero(t, wrong, "a declined, expired or cancelled extension made a relationship")
}

func TestEnrollmentRejectedThenResubmitted(t *testing.T) {
	p := startProduct(t)
	reseller := p.createPartner("Resubmit Reseller", "reseller", true)
	enrollment := func() map[string]any {
		return p.must(200, p.call("GET", "/v1/me", reseller.key, nil)).json["enrollment"].(map[string]any)
	}
	require.Equal(t, "not_enrolled", enrollment()["status"])
	p.must(202, p.call("POST", "/v1/enrollment", reseller.key, nil))
	again := p.must(202, p.call("POST", "/v1/enrollment", reseller.key, nil))
	require.Equal(t, "submitted", again.str("status"), "submitting twice is the same submission")
	_, err := p.smtp.WaitFor("operators@localhost", "Enrollment to review", 20*time.Second)
	require.NoError(t, err, "operators are asked to review")

	require.Equal(t, 422, p.call("POST", "/v1/admin/enrollments/"+reseller.id+"/reject", adminToken, map[string]any{}).status, "a rejection needs a reason")
	p.must(200, p.call("POST", "/v1/admin/enrollments/"+reseller.id+"/reject", adminToken, map[string]any{"reason": "tax ID missing"}))
	p.eventually("rejected with its reason", func() bool {
		e := enrollment()
		return e["status"] == "rejected" && e["reason"] == "tax ID missing"
	})
	_, err = p.smtp.WaitFor("resubmit.reseller@partners.example", "Your enrollment was rejected", 10*time.Second)
	require.NoError(t, err)

	p.must(202, p.call("POST", "/v1/enrollment", reseller.key, nil))
	p.eventually("submitted again", func() bool { return enrollment()["status"] == "submitted" })
	p.must(200, p.call("POST", "/v1/admin/enrollments/"+reseller.id+"/approve", adminToken, nil))
	p.eventually("approved", func() bool { return enrollment()["status"] == "approved" })
	require.Equal(t, 409, p.call("POST", "/v1/enrollment", reseller.key, nil).status, "an approved enrollment is not submitted again")
}
