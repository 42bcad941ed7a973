package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

func TestInvitationEndToEnd(t *testing.T) {
	p := startProduct(t)
	provider := p.createPartner("Contoso Distribution", "indirect_provider", false)
	reseller := p.createPartner("Fabrikam Reseller", "reseller", true)
	p.activePartnership(provider, reseller)

	body := map[string]any{
		"provider_id": provider.id,
		"customer":    map[string]any{"company_name": "Northwind Traders", "email": "admin@northwind.example"},
		"message":     "Hello Northwind,\nas discussed, please accept here: {{link}}\nKind regards, Fabrikam",
		"delegated_admin": map[string]any{
			"roles": []string{"Helpdesk Administrator", "User Administrator"}, "duration_days": 180, "auto_extend": true,
		},
	}
	created := p.must(202, p.call("POST", "/v1/invitations", reseller.key, body, "Idempotency-Key", "inv-northwind-1"))
	invID := created.str("id")
	require.Equal(t, "/v1/invitations/"+invID, created.header.Get("Location"))
	require.Equal(t, "waiting_for_customer", created.str("status"))
	require.Equal(t, "invitation:"+invID, created.str("workflow_id"))

	again := p.must(202, p.call("POST", "/v1/invitations", reseller.key, body, "Idempotency-Key", "inv-northwind-1"))
	require.Equal(t, invID, again.str("id"), "the same Idempotency-Key returns the same invitation")

	// The e-mail arrives over SMTP with the partner's text and the personal link.
	mail, err := p.smtp.WaitFor("admin@northwind.example", "Fabrikam Reseller invites you", 20*time.Second)
	require.NoError(t, err)
	require.Contains(t, mail.Body, "as discussed, please accept here: "+p.base+"/i/")
	link := invitationLink.FindString(mail.Body)
	require.NotEmpty(t, link)

	// Opening the link shows the invitation and changes nothing.
	for range 2 {
		page := get(t, link, "")
		require.Equal(t, 200, page.status)
		html := string(page.body)
		require.Contains(t, html, `<html lang="en">`)
		require.Contains(t, html, "Fabrikam Reseller")
		require.Contains(t, html, "Contoso Distribution")
		require.Contains(t, html, "Helpdesk Administrator and User Administrator for 180 days")
		require.Contains(t, html, `action="/i/`)
	}
	require.Equal(t, "waiting_for_customer", p.call("GET", "/v1/invitations/"+invID, reseller.key, nil).str("status"))

	// The Accept button posts a form.
	accepted := postForm(t, link+"/accept")
	require.Equal(t, 200, accepted.status, string(accepted.body))
	require.Contains(t, string(accepted.body), "invitation accepted")

	var inv response
	p.eventually("invitation completed", func() bool {
		inv = p.call("GET", "/v1/invitations/"+invID, reseller.key, nil)
		return inv.str("status") == "completed"
	})
	relID := inv.str("relationship_id")
	require.NotEmpty(t, relID)
	require.Equal(t, []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}, eventTypes(inv))

	// The relationship exists once, visible to both partners, with delegated admin.
	for _, who := range []partner{reseller, provider} {
		rels := p.must(200, p.call("GET", "/v1/relationships", who.key, nil))
		items := rels.json["items"].([]any)
		require.Len(t, items, 1)
		rel := items[0].(map[string]any)
		require.Equal(t, relID, rel["id"])
		require.Equal(t, "invitation", rel["source"])
		require.Equal(t, true, rel["delegated_admin"])
		require.Equal(t, "active", rel["status"])

		customers := p.must(200, p.call("GET", "/v1/customers", who.key, nil)).json["items"].([]any)
		require.Len(t, customers, 1)
		require.Equal(t, "invitation", customers[0].(map[string]any)["acquired_via"])
		customerID := customers[0].(map[string]any)["id"].(string)
		detail := p.must(200, p.call("GET", "/v1/customers/"+customerID, who.key, nil))
		require.Len(t, detail.json["relationships"].([]any), 1)
	}
	da, err := p.store.DelegatedAdminForRelationship(context.Background(), relID)
	require.NoError(t, err)
	require.Equal(t, []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8", "fe930be7-5e62-47db-91af-98c3a49a38b1"}, da.Roles, "stored as roleDefinitionIds")
	require.Equal(t, 180, da.DurationDays)

	// Both partners are told, by e-mail.
	_, err = p.smtp.WaitFor("fabrikam.reseller@partners.example", "New reseller relationship", 10*time.Second)
	require.NoError(t, err)
	_, err = p.smtp.WaitFor("contoso.distribution@partners.example", "New reseller relationship", 10*time.Second)
	require.NoError(t, err)

	// The link is spent.
	spent := get(t, link, "")
	require.Equal(t, http.StatusGone, spent.status)
	require.Contains(t, string(spent.body), "You accepted this invitation")
	again2 := postJSON(t, link+"/accept")
	require.Equal(t, http.StatusGone, again2.status)
	require.Equal(t, "token-used", again2.json["code"])

	// Operators see it in Temporal: status query and search attributes.
	tc := p.app.Temporal
	// A closed workflow still answers queries while its history is kept.
	q, err := tc.QueryWorkflow(context.Background(), workflows.InvitationWorkflowID(invID), "", workflows.QueryStatus)
	require.NoError(t, err)
	var st workflows.InvitationStatus
	require.NoError(t, q.Get(&st))
	require.Equal(t, "completed", st.Status)
	// The customer too: in the lean shape it rides on the status's upsert.
	query := fmt.Sprintf(`%s = %q AND %s = %q AND %s = %q`, workflows.SearchStatus.GetName(), models.InvitationCompleted,
		workflows.SearchReseller.GetName(), reseller.id, workflows.SearchCustomer.GetName(), st.CustomerID)
	p.eventually("visibility lists the completed invitation", func() bool {
		res, err := tc.ListWorkflow(context.Background(), listRequest(query))
		return err == nil && len(res.Executions) == 1 && res.Executions[0].Execution.WorkflowId == workflows.InvitationWorkflowID(invID)
	})

	saveHistory(t, tc, workflows.InvitationWorkflowID(invID), "invitation-accepted-round2.json")
	saveHistory(t, tc, workflows.RelationshipWorkflowID(relID), "relationship-with-delegated-admin-round2.json")
	saveHistory(t, tc, workflows.RelationshipWorkflowID(relID), "relationship-local-writes-v1.json")
	saveHistory(t, tc, workflows.RelationshipWorkflowID(relID), "relationship-parallel-notices-v2.json")
	saveHistory(t, tc, workflows.InvitationWorkflowID(invID), "invitation-accepted-local-writes-v1.json")
	saveHistory(t, tc, workflows.InvitationWorkflowID(invID), "invitation-lean-with-delegated-admin-v1.json")

	// Metrics: HTTP, business counters, the waiting gauge and the SDK's own.
	// They are on their own listener, not on the API's.
	require.Equal(t, http.StatusNotFound, get(t, p.base+"/metrics", "").status)
	metricsText := string(get(t, "http://"+p.app.MetricsAddr()+"/metrics", "").body)
	for _, want := range []string{
		`onboarding_http_requests_total{method="POST",route="/v1/invitations",status="202"} 2`,
		`onboarding_http_request_duration_seconds_bucket{method="POST",route="/i/:token/accept"`,
		`onboarding_onboardings_started_total{kind="invitation"} 1`,
		`onboarding_onboardings_ended_total{kind="invitation",status="completed"} 1`,
		`onboarding_onboardings_ended_total{kind="partnership",status="active"} 1`,
		`onboarding_emails_total{outcome="sent"}`,
		`onboarding_waiting{kind="invitation"} 0`,
		`temporal_workflow_completed_total`,
		`temporal_activity_execution_seconds_bucket`,
	} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Nothing secret reaches the logs.
	logs := p.logs.String()
	require.NotContains(t, logs, reseller.key)
	require.NotContains(t, logs, provider.key)
	require.NotContains(t, logs, adminToken)
	require.NotContains(t, logs, strings.TrimPrefix(link, p.base+"/i/"))
}

func TestInvitationCancelledAndDeclined(t *testing.T) {
	p := startProduct(t)
	provider := p.createPartner("Litware Distribution", "indirect_provider", false)
	reseller := p.createPartner("Adatum Reseller", "reseller", false)
	p.activePartnership(provider, reseller)

	invite := func(email string) (string, string) {
		r := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
			"provider_id": provider.id, "customer": map[string]any{"company_name": "Customer " + strings.Split(email, "@")[0], "email": email}}))
		m, err := p.smtp.WaitFor(email, "invites you", 20*time.Second)
		require.NoError(t, err)
		return r.str("id"), invitationLink.FindString(m.Body)
	}

	cancelID, cancelLink := invite("cancel@customer.example")
	cancelled := p.must(200, p.call("POST", "/v1/invitations/"+cancelID+"/cancel", reseller.key, map[string]any{"reason": "wrong contact"}))
	require.Equal(t, "cancelled", cancelled.str("status"))
	p.eventually("cancelled recorded", func() bool {
		return p.call("GET", "/v1/invitations/"+cancelID, reseller.key, nil).str("status") == "cancelled"
	})
	second := p.call("POST", "/v1/invitations/"+cancelID+"/cancel", reseller.key, nil)
	require.Equal(t, 409, second.status, string(second.body))
	require.Equal(t, "conflict", second.json["code"])
	gone := postJSON(t, cancelLink+"/accept")
	require.Equal(t, 410, gone.status)
	require.Equal(t, "token-used", gone.json["code"])

	declineID, declineLink := invite("decline@customer.example")
	resent := p.must(202, p.call("POST", "/v1/invitations/"+declineID+"/resend", reseller.key, nil))
	require.EqualValues(t, 1, resent.json["resend"])
	p.eventually("second e-mail", func() bool { return len(mailsTo(p.smtp, "decline@customer.example")) == 2 })
	// The resend replaced the first link: it no longer works, the new one does.
	superseded := postJSON(t, declineLink+"/decline")
	require.Equal(t, 410, superseded.status, string(superseded.body))
	require.Equal(t, "token-used", superseded.json["code"])
	page, err := http.Get(declineLink)
	require.NoError(t, err)
	pageBody, _ := io.ReadAll(page.Body)
	page.Body.Close()
	require.Equal(t, 410, page.StatusCode)
	require.Contains(t, string(pageBody), "A newer link was sent")
	mails := mailsTo(p.smtp, "decline@customer.example")
	declineLink = invitationLink.FindString(mails[len(mails)-1].Body)
	declined := postJSON(t, declineLink+"/decline")
	require.Equal(t, 200, declined.status, string(declined.body))
	require.Equal(t, "declined", declined.json["status"])
	p.eventually("declined recorded", func() bool {
		return p.call("GET", "/v1/invitations/"+declineID, reseller.key, nil).str("status") == "declined"
	})
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(declineID), "invitation-resent-declined-round2.json")
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(cancelID), "invitation-cancelled-round2.json")
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(declineID), "invitation-lean-resent-declined-v1.json")
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(cancelID), "invitation-lean-cancelled-v1.json")
	list := p.must(200, p.call("GET", "/v1/invitations?status=declined", reseller.key, nil))
	require.Len(t, list.json["items"].([]any), 1)

	var rels int64
	require.NoError(t, p.store.DB().Model(&models.Relationship{}).Count(&rels).Error)
	require.Zero(t, rels, "neither a cancelled nor a declined invitation creates a relationship")
}

// TestEmbeddedDefaultSurvivesRestart runs the product on SQLite with the mail
// kept in the outbox, stops everything (Temporal too) mid-invitation, starts
// it again from the same files, and finishes the invitation.
func TestEmbeddedDefaultSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	temporalDB := filepath.Join(dir, "temporal.db")
	srv, err := startTemporal(temporalDB)
	require.NoError(t, err)
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.TemporalAddress = srv.FrontendAddress()
	cfg.TemporalTaskQueue = "e2e-restart"
	cfg.AdminToken = adminToken
	cfg.SecretKey = secret.NewKey() // as `onboarding dev` keeps one in data/secret-key

	openStore := func() *store.Store {
		st, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(dir, "onboarding.db")})
		require.NoError(t, err)
		_, err = st.Migrate(context.Background())
		require.NoError(t, err)
		return st
	}
	st := openStore()
	p := runProduct(t, cfg, st, (*mailtest.Server)(nil))
	provider := p.createPartner("Restart Provider", "indirect_provider", false)
	reseller := p.createPartner("Restart Reseller", "reseller", false)
	p.activePartnership(provider, reseller)
	inv := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Wide World", "email": "it@wideworld.example"}}))
	var link string
	p.eventually("invitation e-mail in the dev mailbox", func() bool {
		req, err := http.NewRequest("GET", p.base+"/dev/mailbox", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		page := do(t, req)
		link = invitationLink.FindString(string(page.body))
		return page.status == 200 && link != ""
	})
	// The mailbox shows the HTML part in a sandboxed frame (no scripts, own
	// origin), escaped into srcdoc, and the text part.
	req, err := http.NewRequest("GET", p.base+"/dev/mailbox", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	mailbox := string(do(t, req).body)
	require.Contains(t, mailbox, `<iframe class="mail-html" sandbox title="HTML part" srcdoc="&lt;!DOCTYPE html&gt;`)
	require.Contains(t, mailbox, "Restart Reseller invites you to a reseller relationship")
	require.Contains(t, mailbox, "<summary>Text part</summary>")

	p.app.Stop(context.Background())
	require.NoError(t, st.Close())
	srv.Stop()

	srv, err = startTemporal(temporalDB)
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	cfg.TemporalAddress = srv.FrontendAddress()
	st = openStore()
	t.Cleanup(func() { _ = st.Close() })
	p2 := runProduct(t, cfg, st, nil)
	link = strings.Replace(link, p.base, p2.base, 1)

	require.Equal(t, "waiting_for_customer", p2.call("GET", "/v1/invitations/"+inv.str("id"), reseller.key, nil).str("status"), "the partner and its key survive")
	accepted := postJSON(t, link+"/accept")
	require.Equal(t, 200, accepted.status, string(accepted.body))
	p2.eventually("invitation completed after restart", func() bool {
		return p2.call("GET", "/v1/invitations/"+inv.str("id"), reseller.key, nil).str("status") == "completed"
	})
}

func eventTypes(r response) []string {
	var out []string
	events, _ := r.json["events"].([]any)
	for _, e := range events {
		out = append(out, e.(map[string]any)["type"].(string))
	}
	return out
}

func mailsTo(s *mailtest.Server, to string) []mailtest.Message {
	var out []mailtest.Message
	for _, m := range s.Messages() {
		for _, r := range m.To {
			if r == to {
				out = append(out, m)
			}
		}
	}
	return out
}

func get(t *testing.T, u, accept string) response {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return do(t, req)
}

func postForm(t *testing.T, u string) response {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(url.Values{}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "e2e-browser/1.0")
	return do(t, req)
}

func postJSON(t *testing.T, u string) response {
	t.Helper()
	req, err := http.NewRequest("POST", u, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, body: raw}
	_ = json.Unmarshal(raw, &out.json)
	return out
}

func listRequest(query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query}
}
