package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/workflows"
)

func TestTenantRequestApprovedByProviderEndToEnd(t *testing.T) {
	p := startProduct(t)
	provider := p.createPartner("Northwind Distribution", "indirect_provider", false)
	reseller := p.createPartner("Proseware Reseller", "reseller", false)
	p.activePartnership(provider, reseller)

	body := map[string]any{"provider_id": provider.id, "company_name": "Litware", "domain": "litware.example",
		"contact_email": "admin@litware.example", "bill_to": billTo("Litware")}
	created := p.must(202, p.call("POST", "/v1/customer-tenant-requests", reseller.key, body))
	require.Equal(t, "waiting_for_provider", created.str("status"))
	id := created.str("id")
	dup := p.call("POST", "/v1/customer-tenant-requests", reseller.key, body)
	require.Equal(t, 409, dup.status, "one open request per domain")
	require.Equal(t, "conflict", dup.json["code"])

	_, err := p.smtp.WaitFor("northwind.distribution@partners.example", "Tenant request from Proseware Reseller", 20*time.Second)
	require.NoError(t, err)
	forProvider := p.must(200, p.call("GET", "/v1/customer-tenant-requests?status=waiting_for_provider", provider.key, nil))
	require.Len(t, forProvider.json["items"].([]any), 1, "the provider sees what waits for it")

	require.Equal(t, 403, p.call("POST", "/v1/customer-tenant-requests/"+id+"/approve", reseller.key, nil).status, "the reseller cannot approve its own request")
	require.Equal(t, 422, p.call("POST", "/v1/customer-tenant-requests/"+id+"/approve", provider.key, map[string]any{"tenant_id": "not-a-guid"}).status)
	tenantID := "0f8fad5b-d9cb-469f-a165-70867728950e"
	p.must(200, p.call("POST", "/v1/customer-tenant-requests/"+id+"/approve", provider.key, map[string]any{"tenant_id": tenantID}))

	var r response
	p.eventually("tenant request completed", func() bool {
		r = p.call("GET", "/v1/customer-tenant-requests/"+id, reseller.key, nil)
		return r.str("status") == "completed"
	})
	require.Equal(t, tenantID, r.str("tenant_id"))
	customerID := r.str("customer_id")
	require.NotEmpty(t, customerID)
	require.Equal(t, []string{"tenant_requested", "tenant_created", "relationship_created"}, eventTypes(r))

	for _, who := range []partner{reseller, provider} {
		c := p.must(200, p.call("GET", "/v1/customers/"+customerID, who.key, nil))
		require.Equal(t, "tenant_request", c.str("acquired_via"))
		rels := c.json["relationships"].([]any)
		require.Len(t, rels, 1)
		require.Equal(t, "tenant_request", rels[0].(map[string]any)["source"])
	}
	elig := p.must(200, p.call("GET", "/v1/customers/"+customerID+"/order-eligibility", reseller.key, nil))
	own := elig.json["order_eligibility"].([]any)[0].(map[string]any)
	require.Equal(t, []any{"acquired-as-indirect-reseller"}, own["reasons"], "R8: no direct-bill ordering for a tenant-request customer")

	again := p.call("POST", "/v1/customer-tenant-requests", reseller.key, body)
	require.Equal(t, 409, again.status, "the domain now belongs to a customer")

	// A rejection ends with its reason on the timeline.
	other := p.must(202, p.call("POST", "/v1/customer-tenant-requests", reseller.key, map[string]any{"provider_id": provider.id,
		"company_name": "Adventure Works", "domain": "adventure-works.example", "contact_email": "it@adventure-works.example", "bill_to": billTo("Adventure")}))
	require.Equal(t, 422, p.call("POST", "/v1/customer-tenant-requests/"+other.str("id")+"/reject", provider.key, map[string]any{}).status, "a rejection needs a reason")
	p.must(200, p.call("POST", "/v1/customer-tenant-requests/"+other.str("id")+"/reject", provider.key, map[string]any{"reason": "domain not verified"}))
	p.eventually("rejected", func() bool {
		rr := p.call("GET", "/v1/customer-tenant-requests/"+other.str("id"), reseller.key, nil)
		return rr.str("status") == "rejected" && rr.str("reason") == "domain not verified"
	})
	saveHistory(t, p.app.Temporal, workflows.TenantRequestWorkflowID(id), "tenant-request-approved-round2.json")
	saveHistory(t, p.app.Temporal, workflows.TenantRequestWorkflowID(id), "tenant-request-lean-approved-v1.json")
}

func TestDelegatedAdminLifecycleEndToEnd(t *testing.T) {
	p := startProduct(t)
	provider := p.createPartner("Graphic Design Distribution", "indirect_provider", false)
	reseller := p.createPartner("Lucerne Reseller", "reseller", false)
	p.activePartnership(provider, reseller)

	p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Lucerne Publishing", "email": "admin@lucerne.example"},
		"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 45, "auto_extend": true}}))
	m, err := p.smtp.WaitFor("admin@lucerne.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, 200, postJSON(t, invitationLink.FindString(m.Body)+"/accept").status)

	var da map[string]any
	p.eventually("delegated admin relationship listed", func() bool {
		items, _ := p.call("GET", "/v1/delegated-admin-relationships?status=active", reseller.key, nil).json["items"].([]any)
		if len(items) == 1 {
			da = items[0].(map[string]any)
		}
		return da != nil
	})
	require.Equal(t, true, da["auto_extend"])
	require.EqualValues(t, 45, da["duration_days"])
	id := da["id"].(string)
	endsBefore := time.Now().AddDate(0, 0, 46).Format(time.DateOnly)
	require.Len(t, p.must(200, p.call("GET", "/v1/delegated-admin-relationships?ending_before="+endsBefore, reseller.key, nil)).json["items"].([]any), 1)
	require.Empty(t, p.must(200, p.call("GET", "/v1/delegated-admin-relationships?ending_before=2026-01-01", reseller.key, nil)).json["items"].([]any))
	require.Equal(t, 404, p.call("GET", "/v1/delegated-admin-relationships/"+id, provider.key, nil).status, "another partner's grant")

	// The lifecycle runs, answers its status with the next notice, and is searchable by its end date.
	tc := p.app.Temporal
	var st workflows.DelegatedAdminStatus
	p.eventually("lifecycle answers its status", func() bool {
		v, err := tc.QueryWorkflow(context.Background(), workflows.DelegatedAdminWorkflowID(id), "", workflows.QueryStatus)
		return err == nil && v.Get(&st) == nil && st.Status == "active"
	})
	require.NotNil(t, st.NextNoticeAt)
	require.WithinDuration(t, st.EndsAt.AddDate(0, 0, -30), *st.NextNoticeAt, time.Second)
	query := fmt.Sprintf(`OnboardingKind = %q AND DelegatedAdminEndsAt < %q AND ResellerId = %q`,
		workflows.KindDelegatedAdmin, time.Now().AddDate(0, 2, 0).UTC().Format(time.RFC3339), reseller.id)
	p.eventually("visibility lists what ends within two months", func() bool {
		res, err := tc.ListWorkflow(context.Background(), listRequest(query))
		return err == nil && len(res.Executions) == 1
	})

	p.must(200, p.call("POST", "/v1/delegated-admin-relationships/"+id+"/terminate", reseller.key, map[string]any{"reason": "customer offboarded"}))
	p.eventually("terminated", func() bool {
		return p.call("GET", "/v1/delegated-admin-relationships/"+id, reseller.key, nil).str("status") == "terminated"
	})
	again := p.call("POST", "/v1/delegated-admin-relationships/"+id+"/terminate", reseller.key, nil)
	require.Equal(t, 409, again.status)
	detail := p.must(200, p.call("GET", "/v1/delegated-admin-relationships/"+id, reseller.key, nil))
	require.Equal(t, []string{"delegated_admin_activated", "delegated_admin_terminated"}, eventTypes(detail))
	p.eventually("lifecycle closed", func() bool {
		d, err := tc.DescribeWorkflowExecution(context.Background(), workflows.DelegatedAdminWorkflowID(id), "")
		return err == nil && d.WorkflowExecutionInfo.GetCloseTime() != nil
	})
	saveHistory(t, tc, workflows.DelegatedAdminWorkflowID(id), "delegated-admin-terminated-round2.json")
	saveHistory(t, tc, workflows.RelationshipWorkflowID(da["relationship_id"].(string)), "relationship-with-lifecycle-round2.json")
}
