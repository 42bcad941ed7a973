package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/workflows"
)

// MICROSOFT_MODE=simulated, the whole journey: an invitation with delegated
// admin is accepted, on our page and then at Microsoft (found by Partner
// Center polling: no webhook is registered here); the relationship exists; the grant is created
// at Microsoft (the simulator) and waits for the customer, who gets
// Microsoft's approval link by e-mail and approves in the simulator; the
// webhook-style signal wakes the wait; the partner's access assignments are
// made; the grant is active; terminating it here terminates it at Microsoft.
func TestDelegatedAdminThroughMicrosoftGraphSimulated(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) {
		c.Microsoft.Mode = config.MicrosoftSimulated
		c.Timing.PartnerCenterFirstPoll = time.Second
	})
	require.NotEmpty(t, p.app.MicrosoftSimulatorURL())
	provider := p.createPartner("Alpine Distribution", "indirect_provider", false)
	reseller := p.createPartner("Tailspin Reseller", "reseller", false)
	p.activePartnership(provider, reseller)
	ask := map[string]any{"provider_id": provider.id, "customer": map[string]any{"company_name": "Wingtip Toys", "email": "admin@wingtip.example"},
		"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 120}}
	// Without the reseller's app registration the grant could only fail at Microsoft: refused up front, nothing recorded.
	refused := p.call("POST", "/v1/invitations", reseller.key, ask)
	require.Equal(t, http.StatusConflict, refused.status, string(refused.body))
	require.Contains(t, string(refused.body), "PUT /v1/me/microsoft-connection")
	require.Empty(t, p.must(200, p.call("GET", "/v1/invitations", reseller.key, nil)).json["items"])
	p.must(200, p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{
		"tenant_id": "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11", "client_id": "b0a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10", "client_secret": "the-client-secret-value"}))
	p.microsoftPartner(provider, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
	p.must(200, p.call("PUT", "/v1/me/delegated-admin-assignments", reseller.key, map[string]any{"assignments": []map[string]any{
		{"security_group_id": "3f2b6a1e-9c1d-4e8a-b7a5-0c9d8e7f6a5b", "role_ids": []string{"Helpdesk Administrator"}}}}))

	p.must(202, p.call("POST", "/v1/invitations", reseller.key, ask))
	m, err := p.smtp.WaitFor("admin@wingtip.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, 200, p.signInAndAccept(invitationLink.FindString(m.Body), "admin@wingtip.example", true).status)
	// The customer's admin accepts the reseller relationship at Microsoft.
	require.NoError(t, p.app.MicrosoftSimulator().AcceptResellerRelationship(context.Background(), simulatedTenantOf("wingtip.example"),
		"8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"))

	// The relationship does not wait for the GDAP approval; the grant does.
	var da map[string]any
	p.eventually("delegated admin waiting for the customer at Microsoft", func() bool {
		items, _ := p.call("GET", "/v1/delegated-admin-relationships?status=approval_pending", reseller.key, nil).json["items"].([]any)
		if len(items) == 1 {
			da = items[0].(map[string]any)
		}
		return da != nil && da["graph_relationship_id"] != nil
	})
	id, graphID := da["id"].(string), da["graph_relationship_id"].(string)
	require.Equal(t, graph.ApprovalLink(graphID), da["approval_link"])
	row, err := p.store.DelegatedAdminByGraphID(t.Context(), graphID)
	require.NoError(t, err)
	require.Equal(t, id, row.ID)
	customer := p.must(200, p.call("GET", "/v1/customers/"+da["customer_id"].(string), reseller.key, nil))
	rels := customer.json["relationships"].([]any)
	require.Len(t, rels, 1)
	require.Equal(t, true, rels[0].(map[string]any)["delegated_admin"])
	require.Equal(t, "active", rels[0].(map[string]any)["status"])

	// The customer gets Microsoft's link, not one of ours.
	approval, err := p.smtp.WaitFor("admin@wingtip.example", "approve delegated admin access at Microsoft", 20*time.Second)
	require.NoError(t, err)
	require.Contains(t, approval.Body, graph.ApprovalLink(graphID))
	// And on our page: the invitation link, visited again, leads there while it waits.
	// (once the invitation has recorded its relationship, just after the grant).
	p.eventually("approval link on the invitation's page", func() bool {
		page := getPage(t, invitationLink.FindString(m.Body))
		return page.status == 410 && strings.Contains(string(page.body), `href="`+graph.ApprovalLink(graphID)+`"`)
	})

	// The customer's admin approves (in the simulator's admin center);
	// Partner Center's webhook would signal the lifecycle found by the Graph id.
	approved := postJSON(t, p.app.MicrosoftSimulatorURL()+"/simulator/relationships/"+graphID+"/approve")
	require.Equal(t, 200, approved.status, string(approved.body))
	tc := p.app.Temporal
	p.eventually("delegated admin active", func() bool {
		_ = tc.SignalWorkflow(context.Background(), workflows.DelegatedAdminWorkflowID(row.ID), "", workflows.SignalGDAPChanged, nil)
		return p.call("GET", "/v1/delegated-admin-relationships/"+id, reseller.key, nil).str("status") == models.DelegatedAdminActive
	})
	detail := p.must(200, p.call("GET", "/v1/delegated-admin-relationships/"+id, reseller.key, nil))
	require.Empty(t, detail.str("approval_link"), "only while waiting")
	require.NotContains(t, string(getPage(t, invitationLink.FindString(m.Body)).body), "admin.microsoft.com")
	types := eventTypes(detail)
	require.Contains(t, types, models.EventDelegatedAdminApprovalRequested)
	require.Contains(t, types, models.EventDelegatedAdminApprovalLinkSent)
	require.Equal(t, "delegated_admin_activated", types[len(types)-1])
	activated := detail.json["events"].([]any)[len(types)-1].(map[string]any)
	require.Equal(t, "1", activated["access_assignments"], "the partner's group got its roles: %s", detail.body)
	require.Equal(t, graphID, activated["graph_relationship_id"])
	p.eventually("GDAP workflow closed", func() bool {
		d, err := tc.DescribeWorkflowExecution(context.Background(), workflows.GDAPWorkflowID(id), "")
		return err == nil && d.WorkflowExecutionInfo.GetCloseTime() != nil
	})

	// Ended here, ended at Microsoft.
	p.must(200, p.call("POST", "/v1/delegated-admin-relationships/"+id+"/terminate", reseller.key, map[string]any{"reason": "customer offboarded"}))
	p.eventually("lifecycle closed", func() bool {
		d, err := tc.DescribeWorkflowExecution(context.Background(), workflows.DelegatedAdminWorkflowID(id), "")
		return err == nil && d.WorkflowExecutionInfo.GetCloseTime() != nil
	})
	require.Equal(t, models.DelegatedAdminTerminated, p.call("GET", "/v1/delegated-admin-relationships/"+id, reseller.key, nil).str("status"))
	requests := 0
	for _, c := range p.app.MicrosoftSimulator().Calls() {
		if c.Method == "POST" && c.Path == "/v1.0/tenantRelationships/delegatedAdminRelationships/"+graphID+"/requests" && c.Status == 201 {
			requests++
		}
	}
	require.Equal(t, 2, requests, "lockForApproval, then terminate, reached Microsoft")

	saveHistory(t, tc, workflows.DelegatedAdminWorkflowID(id), "delegated-admin-gdap-terminated-v1.json")
	saveHistory(t, tc, workflows.GDAPWorkflowID(id), "gdap-approved-v1.json")
	saveHistory(t, tc, workflows.RelationshipWorkflowID(da["relationship_id"].(string)), "relationship-with-gdap-v1.json")
	saveHistory(t, tc, workflows.RelationshipWorkflowID(da["relationship_id"].(string)), "relationship-with-gdap-local-writes-v1.json")
}

func getPage(t *testing.T, u string) response {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	require.NoError(t, err)
	return do(t, req)
}
