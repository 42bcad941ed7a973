package e2e

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/workflows"
)

// microsoftPartner connects a partner's app registration (the simulated
// Entra ID accepts a new app at its first token request).
func (p *product) microsoftPartner(who partner, tenant string) {
	p.t.Helper()
	p.must(200, p.call("PUT", "/v1/me/microsoft-connection", who.key, map[string]any{
		"tenant_id": tenant, "client_id": uuid.NewString(), "client_secret": "secret-of-" + tenant}))
}

// simulatedTenantOf is the tenant the simulator gives a domain in
// MICROSOFT_MODE=simulated (AnyDomainIsATenant).
func simulatedTenantOf(domain string) string { return simulator.DomainTenantID(domain) }

// MICROSOFT_MODE=simulated, the customer's real acceptance (issue 14 item 1):
// after accepting on our page the customer is sent on to Microsoft's admin
// center; the invitation waits (waiting_for_partner_center) until Partner
// Center lists the reseller on the customer. With the provider's webhook
// registered, the signed event wakes it; for a provider that registered
// none (or whose delivery was lost) the poll finds the acceptance. Only
// then the relationship exists, and the customer carries its tenant id.
func TestInvitationAcceptedAtMicrosoftSimulated(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) {
		c.Microsoft.Mode = config.MicrosoftSimulated
		c.Timing.PartnerCenterFirstPoll = 3 * time.Second
	})
	ctx := t.Context()
	sim := p.app.MicrosoftSimulator()
	const resellerTenant, providerTenant, quietProviderTenant = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
	provider := p.createPartner("Alpine Distribution", "indirect_provider", false)
	quietProvider := p.createPartner("Quiet Distribution", "indirect_provider", false)
	reseller := p.createPartner("Tailspin Reseller", "reseller", false)
	p.activePartnership(provider, reseller)
	p.activePartnership(quietProvider, reseller)
	ask := func(prov partner, email string) map[string]any {
		return map[string]any{"provider_id": prov.id, "customer": map[string]any{"company_name": "Wingtip Toys", "email": email}}
	}

	// Both partners' tenants make Microsoft's link: without them, refused up front.
	refused := p.call("POST", "/v1/invitations", reseller.key, ask(provider, "admin@wingtip.example"))
	require.Equal(t, http.StatusConflict, refused.status, string(refused.body))
	require.Contains(t, refused.str("detail"), "Tailspin Reseller has none")
	p.microsoftPartner(reseller, resellerTenant)
	refused = p.call("POST", "/v1/invitations", reseller.key, ask(provider, "admin@wingtip.example"))
	require.Equal(t, http.StatusConflict, refused.status, string(refused.body))
	require.Contains(t, refused.str("detail"), "Alpine Distribution has none")
	require.Empty(t, p.must(200, p.call("GET", "/v1/invitations", reseller.key, nil)).json["items"])
	p.microsoftPartner(provider, providerTenant)
	p.microsoftPartner(quietProvider, quietProviderTenant)

	// The provider registers our receiver with Partner Center (what
	// `onboarding partner-center register-webhooks` does); the quiet one does not.
	conn, err := p.store.MicrosoftConnection(ctx, provider.id)
	require.NoError(t, err)
	pc := partnercenter.NewClient(ctx, partnercenter.Config{APIURL: p.app.MicrosoftSimulatorURL() + simulator.PartnerCenterPrefix,
		LoginURL: p.app.MicrosoftSimulatorURL(), TenantID: providerTenant, ClientID: conn.ClientID, ClientSecret: "secret-of-" + providerTenant})
	_, err = pc.Register(ctx, p.base+"/webhooks/partner-center", partnercenter.RegisteredEvents)
	require.NoError(t, err)

	// 1. The webhook wakes the invitation.
	inv := p.must(202, p.call("POST", "/v1/invitations", reseller.key, ask(provider, "admin@wingtip.example")))
	id := inv.str("id")
	m, err := p.smtp.WaitFor("admin@wingtip.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	link := invitationLink.FindString(m.Body)
	open := getPage(t, link)
	require.Contains(t, string(open.body), `href="/i/`, "the page asks for the sign-in first")
	require.NotContains(t, string(open.body), `action="/i/`+link[strings.LastIndex(link, "/")+1:]+`/accept"`)
	refusedAccept := postJSON(t, link+"/accept")
	require.Equal(t, http.StatusForbidden, refusedAccept.status, "no Accept without signing in: %s", refusedAccept.body)
	page := p.signInAndAccept(link, "ada@wingtip.example", false)
	require.Equal(t, 200, page.status, string(page.body))
	wantLink := partnercenter.ResellerRelationshipLink(p.app.MicrosoftSimulatorURL()+simulator.AdminCenterPrefix, resellerTenant, providerTenant)
	require.Contains(t, string(page.body), `href="`+html.EscapeString(wantLink)+`"`, "the answer page sends the customer on to Microsoft")
	p.invitationReaches(reseller, id, models.InvitationWaitingForPartnerCenter)
	again := getPage(t, link)
	require.Equal(t, http.StatusGone, again.status)
	require.Contains(t, string(again.body), html.EscapeString(wantLink), "visited again, the link leads to Microsoft while it waits")

	// The customer's admin opens Microsoft's link and accepts, signed in to the Wingtip tenant.
	admin := getPage(t, wantLink)
	require.Equal(t, 200, admin.status)
	require.Contains(t, string(admin.body), resellerTenant)
	accepted := do(t, formRequest(t, p.app.MicrosoftSimulatorURL()+simulator.AdminCenterPrefix+"/partner-invitation/accept",
		url.Values{"partnerId": {resellerTenant}, "indirectCSPId": {providerTenant}, "tenant": {"wingtip.example"}}))
	require.Equal(t, 200, accepted.status, string(accepted.body))
	p.invitationReaches(reseller, id, models.InvitationCompleted)
	detail := p.must(200, p.call("GET", "/v1/invitations/"+id, reseller.key, nil))
	types := eventTypes(detail)
	require.Equal(t, []string{"customer_accepted", models.EventResellerRelationshipRequested, models.EventAcceptedAtMicrosoft, "relationship_created"}, types[len(types)-4:])
	requested := detail.json["events"].([]any)[len(types)-3].(map[string]any)
	require.Equal(t, wantLink, requested["accept_url"])
	require.Equal(t, simulatedTenantOf("wingtip.example"), requested["customer_tenant_id"])
	rel := p.must(200, p.call("GET", "/v1/relationships/"+detail.str("relationship_id"), reseller.key, nil))
	require.Equal(t, simulatedTenantOf("wingtip.example"), rel.str("customer_tenant_id"), "the relationship carries the tenant that accepted")
	customer := p.must(200, p.call("GET", "/v1/customers/"+rel.str("customer_id"), reseller.key, nil))
	require.Equal(t, simulatedTenantOf("wingtip.example"), customer.str("tenant_id"))
	acceptedEvent := detail.json["events"].([]any)[len(types)-4].(map[string]any)
	require.Equal(t, "ada@wingtip.example", acceptedEvent["signed_in_upn"], "the timeline says who signed in and accepted")
	require.Equal(t, simulatedTenantOf("wingtip.example"), acceptedEvent["signed_in_tenant_id"])
	require.NotEmpty(t, acceptedEvent["signed_in_object_id"])
	deliveries := sim.Deliveries()
	require.NotEmpty(t, deliveries)
	require.Equal(t, partnercenter.EventIndirectResellerRelationshipAcc, deliveries[len(deliveries)-1].Event.EventName)
	require.Equal(t, 200, deliveries[len(deliveries)-1].Status)
	require.Contains(t, p.logs.String(), "Partner Center event: workflow signalled")
	require.NotContains(t, string(getPage(t, link).body), "Adminportal", "once accepted, nothing more to do at Microsoft")
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(id), "invitation-accepted-at-microsoft-v1.json")
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(id), "invitation-lean-accepted-at-microsoft-v1.json")

	// 2. No webhook (the quiet provider registered none): the poll finds it.
	before := len(sim.Deliveries())
	inv = p.must(202, p.call("POST", "/v1/invitations", reseller.key, ask(quietProvider, "it@fourthcoffee.example")))
	id = inv.str("id")
	m, err = p.smtp.WaitFor("it@fourthcoffee.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, 200, p.signInAndAccept(invitationLink.FindString(m.Body), "it@fourthcoffee.example", true).status)
	p.invitationReaches(reseller, id, models.InvitationWaitingForPartnerCenter)
	require.NoError(t, sim.AcceptResellerRelationship(context.Background(), simulatedTenantOf("fourthcoffee.example"), resellerTenant, quietProviderTenant))
	p.invitationReaches(reseller, id, models.InvitationCompleted)
	require.Len(t, sim.Deliveries(), before, "no webhook was delivered for it")

	// 3. A bulk invitation job's rows wait for Microsoft the same way.
	job := p.must(202, p.call("POST", "/v1/bulk-jobs", reseller.key, map[string]any{"kind": "invitation", "provider_id": quietProvider.id,
		"rows": []map[string]any{{"company_name": "Coho Winery", "email": "it@cohowinery.example"}}}))
	m, err = p.smtp.WaitFor("it@cohowinery.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, 200, p.signInAndAccept(invitationLink.FindString(m.Body), "it@cohowinery.example", true).status)
	var rowInvitation string
	p.eventually("the row's invitation waits for Partner Center", func() bool {
		items, _ := p.call("GET", "/v1/invitations?status=waiting_for_partner_center", reseller.key, nil).json["items"].([]any)
		for _, it := range items {
			if it.(map[string]any)["customer"].(map[string]any)["email"] == "it@cohowinery.example" {
				rowInvitation = it.(map[string]any)["id"].(string)
			}
		}
		return rowInvitation != ""
	})
	require.NoError(t, sim.AcceptResellerRelationship(context.Background(), simulatedTenantOf("cohowinery.example"), resellerTenant, quietProviderTenant))
	p.invitationReaches(reseller, rowInvitation, models.InvitationCompleted)
	require.NotEmpty(t, job.str("id"))

	// 4. The reseller withdraws an invitation still waiting at Microsoft.
	inv = p.must(202, p.call("POST", "/v1/invitations", reseller.key, ask(quietProvider, "it@adventure-works.example")))
	id = inv.str("id")
	m, err = p.smtp.WaitFor("it@adventure-works.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, 200, p.signInAndAccept(invitationLink.FindString(m.Body), "it@adventure-works.example", true).status)
	p.invitationReaches(reseller, id, models.InvitationWaitingForPartnerCenter)
	cancelled := p.must(200, p.call("POST", "/v1/invitations/"+id+"/cancel", reseller.key, map[string]any{"reason": "the customer chose another partner"}))
	require.Equal(t, models.InvitationCancelled, cancelled.str("status"))
	require.Equal(t, models.InvitationCancelled, p.call("GET", "/v1/invitations/"+id, reseller.key, nil).str("status"), "recorded before the answer")

	// 5. A customer whose tenant is known: signing in with another organization's account is refused.
	p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{"provider_id": quietProvider.id, "customer": map[string]any{"customer_id": rel.str("customer_id")}}))
	var second string
	p.eventually("the second invitation to Wingtip", func() bool {
		var links []string
		for _, msg := range mailsTo(p.smtp, "admin@wingtip.example") {
			if strings.Contains(msg.Subject, "invites you") {
				links = append(links, invitationLink.FindString(msg.Body))
			}
		}
		if len(links) == 2 {
			second = links[1]
		}
		return second != ""
	})
	wrong := p.signInAndAccept(second, "eve@litware-other.example", true)
	require.Equal(t, http.StatusForbidden, wrong.status, string(wrong.body))
	require.Contains(t, string(wrong.body), "another organization")
	require.Equal(t, 200, p.signInAndAccept(second, "ada@wingtip.example", true).status)
}

// signInAndAccept is the customer's administrator in a browser: the
// invitation link's sign-in goes to (simulated) Microsoft, the account
// signs in, the callback brings the browser back, and Accept is pressed
// with the sign-in's cookie. It returns the answer to the Accept (JSON
// when asJSON, else the HTML page).
func (p *product) signInAndAccept(link, upn string, asJSON bool) response {
	p.t.Helper()
	return p.signInAndAnswer(link, upn, "accept", asJSON)
}

// signInAndAnswer is signInAndAccept for any answer of a link (accept, consent).
func (p *product) signInAndAnswer(link, upn, answer string, asJSON bool) response {
	p.t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(p.t, err)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := browser.Get(link + "/signin")
	require.NoError(p.t, err)
	_ = res.Body.Close()
	require.Equal(p.t, http.StatusFound, res.StatusCode)
	callback, err := p.app.MicrosoftSimulator().SignIn(res.Header.Get("Location"), upn, "Ada Admin")
	require.NoError(p.t, err)
	res, err = browser.Get(callback)
	require.NoError(p.t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusFound {
		return response{status: res.StatusCode, body: body}
	}
	req, err := http.NewRequest("POST", link+"/"+answer, strings.NewReader(""))
	require.NoError(p.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if asJSON {
		req.Header.Set("Accept", "application/json")
	}
	res, err = browser.Do(req)
	require.NoError(p.t, err)
	defer res.Body.Close()
	body, _ = io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// invitationReaches waits until the reseller's invitation has the status.
func (p *product) invitationReaches(reseller partner, id, status string) {
	p.t.Helper()
	p.eventually("invitation "+status, func() bool {
		return p.call("GET", "/v1/invitations/"+id, reseller.key, nil).str("status") == status
	})
}

func formRequest(t *testing.T, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// MICROSOFT_MODE=simulated, the extension (issue 14 item 2): the customer
// consents and the bill-to is shared exactly as in off mode; then the
// reseller gets its Partner Center task by e-mail and the extension waits
// (waiting_for_partner_center) until Partner Center lists the reseller with
// the provider on the customer. The relationship exists only then.
func TestExtensionThroughPartnerCenterSimulated(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) {
		c.Microsoft.Mode = config.MicrosoftSimulated
		c.Timing.PartnerCenterFirstPoll = time.Second
	})
	provider, reseller, customerID := p.directBillReseller("Litware")
	const resellerTenant, providerTenant = "66666666-6666-4666-8666-666666666666", "77777777-7777-4777-8777-777777777777"
	ask := map[string]any{"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true}
	refused := p.call("POST", "/v1/relationship-extensions", reseller.key, ask)
	require.Equal(t, http.StatusConflict, refused.status, string(refused.body))
	require.Contains(t, refused.str("detail"), "made in Partner Center")
	p.microsoftPartner(reseller, resellerTenant)
	p.microsoftPartner(provider, providerTenant)

	x := p.must(202, p.call("POST", "/v1/relationship-extensions", reseller.key, ask))
	id := x.str("id")
	m, err := p.smtp.WaitFor("admin@litware.example", "asks your consent", 20*time.Second)
	require.NoError(t, err)
	link := consentLink.FindString(m.Body)
	require.Equal(t, http.StatusForbidden, postJSON(t, link+"/consent").status, "no consent without signing in")
	require.Contains(t, string(getPage(t, link).body), "Sign in with Microsoft to consent")
	require.Equal(t, 200, p.signInAndAnswer(link, "ada@litware.example", "consent", true).status)
	task, err := p.smtp.WaitFor("litware.reseller@partners.example", "Action needed in Partner Center", 20*time.Second)
	require.NoError(t, err)
	customerTenant := simulatedTenantOf("litware.example")
	require.Contains(t, task.Body, "Microsoft ID "+customerTenant)
	require.Contains(t, task.Body, "https://partner.microsoft.com/dashboard/commerce2/customers/list")
	detail := p.must(200, p.call("GET", "/v1/relationship-extensions/"+id, reseller.key, nil))
	require.Equal(t, models.ExtensionWaitingForPartnerCenter, detail.str("status"))
	types := eventTypes(detail)
	require.Contains(t, types, "bill_to_shared", "the consent gate and the share come first, as in off mode")
	consent := detail.json["consent"].(map[string]any)
	require.Equal(t, "microsoft_sign_in", consent["identity"], "the consent rests on the administrator's sign-in")
	require.Equal(t, "ada@litware.example", consent["signer_email"])
	require.Equal(t, models.EventPartnerCenterTask, types[len(types)-1])
	require.Empty(t, p.call("GET", "/v1/relationships?customer_id="+customerID, provider.key, nil).json["items"], "no relationship before Partner Center has it")

	// The reseller extends in (simulated) Partner Center; the poll finds it.
	done := do(t, formRequest(t, p.app.MicrosoftSimulatorURL()+"/simulator/partner-center/extend",
		url.Values{"partnerId": {resellerTenant}, "indirectCSPId": {providerTenant}, "tenant": {"litware.example"}}))
	require.Equal(t, 200, done.status, string(done.body))
	p.eventually("extension completed", func() bool {
		return p.call("GET", "/v1/relationship-extensions/"+id, reseller.key, nil).str("status") == models.ExtensionCompleted
	})
	types = eventTypes(p.must(200, p.call("GET", "/v1/relationship-extensions/"+id, reseller.key, nil)))
	require.Equal(t, []string{models.EventPartnerCenterTask, models.EventExtendedAtMicrosoft, "relationship_created"}, types[len(types)-3:])
	saveHistory(t, p.app.Temporal, workflows.ExtensionWorkflowID(id), "extension-at-partner-center-v1.json")
	saveHistory(t, p.app.Temporal, workflows.ExtensionWorkflowID(id), "extension-lean-at-partner-center-v1.json")
}
