package simulator

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
)

// AdminCenterPrefix is where the simulated Microsoft 365 admin center
// lives: MICROSOFT_ADMIN_CENTER_URL is the simulator's base URL +
// AdminCenterPrefix.
const AdminCenterPrefix = "/admincenter"

// customerState is the customers' side: their tenants (by verified domain)
// and the reseller relationships their admins accepted.
type customerState struct {
	domains map[string]string // verified domain → customer tenant id
	// accepted: customer tenant → the indirect resellers and providers it accepted.
	accepted map[string][]acceptedRelationship
}

type acceptedRelationship struct {
	reseller, provider string // partner tenant ids
}

// AddCustomerTenant makes a customer tenant that verified domain.
func (s *Simulator) AddCustomerTenant(domain, tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers.domains[strings.ToLower(domain)] = tenantID
}

// tenantOf is the tenant of a domain or tenant id; with AnyDomainIsATenant a
// domain not seen before gets a tenant of its own (MICROSOFT_MODE=simulated:
// any customer can accept).
func (s *Simulator) tenantOf(domainOrID string) (string, bool) {
	key := strings.ToLower(strings.TrimSpace(domainOrID))
	if id, err := uuid.Parse(key); err == nil {
		return id.String(), true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.customers.domains[key]; ok {
		return id, true
	}
	if !s.AnyDomainIsATenant || !strings.Contains(key, ".") {
		return "", false
	}
	id := DomainTenantID(key)
	s.customers.domains[key] = id
	return id, true
}

// DomainTenantID is the tenant id a domain gets with AnyDomainIsATenant:
// the same for the same domain, in every run.
func DomainTenantID(domain string) string {
	return uuid.NewSHA1(uuid.NameSpaceDNS, []byte(strings.ToLower(domain))).String()
}

// openIDConfiguration is a tenant's OpenID Connect metadata: its issuer
// (which names the tenant id) and the endpoints of the sign-in
// (signin.go). "organizations" is the multi-tenant metadata, whose issuer
// is the template https://login.microsoftonline.com/{tenantid}/v2.0. An
// unknown tenant is 400 AADSTS90002, as the identity platform answers.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc
func (s *Simulator) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	id, ok := tenant, tenant == "organizations"
	if !ok {
		id, ok = s.tenantOf(tenant)
	}
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_tenant", "error_codes": []int{90002},
			"error_description": fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenant)})
		return
	}
	issuer := "https://login.microsoftonline.com/" + id + "/v2.0"
	if id == "organizations" {
		issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
	}
	base := "http://" + r.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                base + "/" + id + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/" + id + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

// AcceptResellerRelationship is the customer's Global Administrator
// accepting an indirect reseller relationship in the admin center: the
// customer becomes the reseller's and the provider's, and Partner Center
// posts indirect-reseller-relationship-accepted-by-customer to each of
// them registered for it (ResourceUri …/v1/customers/{customer tenant id}).
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhook-events
func (s *Simulator) AcceptResellerRelationship(ctx context.Context, customerTenant, resellerTenant, providerTenant string) error {
	if customerTenant == "" || resellerTenant == "" || providerTenant == "" {
		return fmt.Errorf("a customer, a reseller and a provider tenant are needed")
	}
	s.mu.Lock()
	list := s.customers.accepted[customerTenant]
	known := false
	for _, a := range list {
		known = known || (a.reseller == resellerTenant && a.provider == providerTenant)
	}
	if !known {
		s.customers.accepted[customerTenant] = append(list, acceptedRelationship{reseller: resellerTenant, provider: providerTenant})
	}
	s.mu.Unlock()
	ev := partnercenter.Event{EventName: partnercenter.EventIndirectResellerRelationshipAcc, ResourceName: "customer",
		ResourceURI: "https://api.partnercenter.microsoft.com/v1/customers/" + customerTenant}
	for _, partner := range []string{providerTenant, resellerTenant} {
		if s.Registration(partner) == nil {
			continue // not registered: the partner finds out by polling
		}
		if _, err := s.Deliver(ctx, partner, ev); err != nil {
			return err
		}
	}
	return nil
}

// ExtendResellerRelationship is the reseller extending its existing
// direct-bill customer's relationship to its indirect provider in the
// Partner Center dashboard ("reseller relationship extension"; Microsoft
// offers no API and documents no webhook event for it): afterwards Partner
// Center lists the reseller with the provider on the customer.
// https://learn.microsoft.com/en-us/partner-center/transition-direct-to-indirect
func (s *Simulator) ExtendResellerRelationship(customerTenant, resellerTenant, providerTenant string) error {
	if customerTenant == "" || resellerTenant == "" || providerTenant == "" {
		return fmt.Errorf("a customer, a reseller and a provider tenant are needed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.customers.accepted[customerTenant] {
		if a.reseller == resellerTenant && a.provider == providerTenant {
			return nil
		}
	}
	s.customers.accepted[customerTenant] = append(s.customers.accepted[customerTenant], acceptedRelationship{reseller: resellerTenant, provider: providerTenant})
	return nil
}

// partnerCenterExtend is the reseller's extension in the Partner Center
// dashboard, as a form action for `make run` (partnerId, indirectCSPId,
// tenant: the customer's domain or tenant id).
func (s *Simulator) partnerCenterExtend(w http.ResponseWriter, r *http.Request) {
	customer, ok := s.tenantOf(r.PostFormValue("tenant"))
	if !ok {
		http.Error(w, "unknown customer tenant", http.StatusBadRequest)
		return
	}
	if err := s.ExtendResellerRelationship(customer, r.PostFormValue("partnerId"), r.PostFormValue("indirectCSPId")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"customer_tenant_id": customer, "status": "extended"})
}

// customerPartners is "Get partners of a customer" as the calling partner
// sees it: a provider sees the customer's indirect resellers under it, a
// reseller its indirect providers. A customer that is not the caller's is
// 404.
// https://learn.microsoft.com/en-us/partner-center/developer/get-indirect-resellers-of-a-customer
func (s *Simulator) customerPartners(w http.ResponseWriter, r *http.Request, partner string) {
	customer := r.PathValue("id")
	s.mu.Lock()
	var items []partnercenter.PartnerRelationship
	for _, a := range s.customers.accepted[customer] {
		switch partner {
		case a.provider:
			items = append(items, partnercenter.PartnerRelationship{ID: a.reseller, Name: "Reseller " + a.reseller,
				RelationshipType: partnercenter.RelationshipIsIndirectResellerOf, State: "Active", MpnID: "0", Location: "US"})
		case a.reseller:
			items = append(items, partnercenter.PartnerRelationship{ID: a.provider, Name: "Provider " + a.provider,
				RelationshipType: partnercenter.RelationshipIsIndirectCloudSolutionProviderOf, State: "Active", MpnID: "0", Location: "US"})
		}
	}
	s.mu.Unlock()
	if len(items) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 600008, "description": "The customer was not found for the partner."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalCount": len(items), "items": items,
		"attributes": map[string]string{"objectType": "Collection"}})
}

var adminCenterPage = template.Must(template.New("admin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Microsoft 365 admin center (simulated)</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em">
<p><strong>Simulated Microsoft 365 admin center</strong> — MICROSOFT_MODE=simulated</p>
{{if .Done}}<h1>Relationship accepted</h1>
<p>Tenant {{.Customer}} now has an indirect reseller relationship with reseller {{.Reseller}} and provider {{.Provider}}.</p>
{{else}}<h1>Accept the partner's invitation</h1>
<p>Reseller tenant {{.Reseller}} invites your organization to an indirect reseller relationship, with provider tenant {{.Provider}}.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="partnerId" value="{{.Reseller}}"><input type="hidden" name="indirectCSPId" value="{{.Provider}}">
<label>Signed in as a Global Administrator of (domain or tenant id)
<input name="tenant" required autocomplete="off"></label>
<button type="submit">Accept and authorize</button>
</form>{{end}}
</body></html>`))

type adminCenterView struct {
	Reseller, Provider, Customer, Action string
	Done                                 bool
}

// adminCenterInvitation is the stand-in for the admin center's partner
// invitation page (the link partnercenter.ResellerRelationshipLink builds).
func (s *Simulator) adminCenterInvitation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("invType") != "IndirectResellerRelationship" || q.Get("partnerId") == "" || q.Get("indirectCSPId") == "" {
		http.Error(w, "not an indirect reseller relationship invitation", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = adminCenterPage.Execute(w, adminCenterView{Reseller: q.Get("partnerId"), Provider: q.Get("indirectCSPId"),
		Action: AdminCenterPrefix + "/partner-invitation/accept"})
}

// adminCenterAccept is the admin's "Accept and authorize".
func (s *Simulator) adminCenterAccept(w http.ResponseWriter, r *http.Request) {
	reseller, provider := r.PostFormValue("partnerId"), r.PostFormValue("indirectCSPId")
	customer, ok := s.tenantOf(r.PostFormValue("tenant"))
	if !ok || reseller == "" || provider == "" {
		http.Error(w, "unknown tenant, or not an invitation", http.StatusBadRequest)
		return
	}
	if err := s.AcceptResellerRelationship(r.Context(), customer, reseller, provider); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = adminCenterPage.Execute(w, adminCenterView{Reseller: reseller, Provider: provider, Customer: customer, Done: true})
}
