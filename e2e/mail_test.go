package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/workflows"
)

const relayPassword = "relay pass/w0rd"

// startWithRelay runs the product against a strict relay made for the test:
// TLS with a certificate from a private CA (SMTP_TLS_CA), STARTTLS or
// implicit, AUTH required before MAIL.
func startWithRelay(t *testing.T, implicit bool, adjust func(*mailtest.Options, *config.Config)) *product {
	t.Helper()
	ca, err := mailtest.NewCA()
	require.NoError(t, err)
	cert, err := ca.ServerCert()
	require.NoError(t, err)
	o := mailtest.Options{TLS: cert, Implicit: implicit, RequireTLS: true, User: "onboarding", Password: relayPassword}
	cfg := config.Default()
	if adjust != nil {
		adjust(&o, &cfg)
	}
	relay, err := mailtest.StartWith(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = relay.Close() })
	caFile, err := ca.WriteFile(t.TempDir())
	require.NoError(t, err)

	st, dbURL := storetest.NewWithURL(t, migrations.Postgres)
	cfg.DatabaseURL = dbURL
	if cfg.SMTPURL == "" {
		cfg.SMTPURL = relay.URL()
	}
	cfg.SMTPURL = strings.ReplaceAll(cfg.SMTPURL, "{addr}", relay.Addr())
	cfg.SMTPTLSCA = caFile
	cfg.TemporalAddress = temporalServer.FrontendAddress()
	cfg.TemporalTaskQueue = "e2e-" + slug(strings.ReplaceAll(t.Name(), "/", "-"))
	cfg.AdminToken = adminToken
	cfg.SecretKey = secret.NewKey()
	return runProduct(t, cfg, st, relay)
}

func (p *product) invite(reseller, provider partner, email string) string {
	p.t.Helper()
	inv := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Northwind", "email": email},
		"message": "Please accept here: {{link}}"}))
	return inv.str("id")
}

func TestInvitationThroughStrictRelays(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		t.Run(map[bool]string{false: "starttls", true: "implicit-tls"}[implicit], func(t *testing.T) {
			p := startWithRelay(t, implicit, nil)
			provider := p.createPartner("Relay Provider", "indirect_provider", false)
			reseller := p.createPartner("Relay Reseller", "reseller", false)
			p.activePartnership(provider, reseller)
			invID := p.invite(reseller, provider, "admin@northwind.example")

			got, err := p.smtp.WaitFor("admin@northwind.example", "invites you", 20*time.Second)
			require.NoError(t, err)
			require.Equal(t, "auto-generated", got.Header.Get("Auto-Submitted"))
			require.Equal(t, "<invitation."+invID+".initial@csp-onboarding>", got.Header.Get("Message-Id"))
			link := invitationLink.FindString(got.Body)
			require.NotEmpty(t, link, got.Body)
			token := link[strings.LastIndex(link, "/")+1:]

			var inv response
			p.eventually("e-mail recorded as sent", func() bool {
				inv = p.call("GET", "/v1/invitations/"+invID, reseller.key, nil)
				d, _ := inv.json["email_delivery"].(map[string]any)
				return d["state"] == "sent"
			})
			accepted := postJSON(t, link+"/accept")
			require.Equal(t, 200, accepted.status, string(accepted.body))
			p.eventually("invitation completed", func() bool {
				inv = p.call("GET", "/v1/invitations/"+invID, reseller.key, nil)
				return inv.str("status") == "completed"
			})
			p.eventually("the partners' notices delivered", func() bool { return len(p.smtp.Messages()) >= 4 })
			if !implicit {
				saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(invID), "invitation-accepted-async-email-round2.json")
				saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(invID), "invitation-lean-accepted-v1.json")
			}
			noRawTokenAtRest(t, p, token, invID)
			require.NotContains(t, p.logs.String(), relayPassword, "the relay's password is never logged")
			require.NotContains(t, p.logs.String(), token, "the link's token is never logged")
		})
	}
}

// noRawTokenAtRest greps every text column of the app database for the token;
// control, a value that is stored, proves the grep finds what is there.
func noRawTokenAtRest(t *testing.T, p *product, token, control string) {
	t.Helper()
	type column struct{ Table, Column string }
	var cols []column
	require.NoError(t, p.store.DB().Raw(`SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'json', 'jsonb')`).Scan(&cols).Error)
	require.NotEmpty(t, cols)
	tables := map[string]bool{}
	var controlFound int64
	for _, c := range cols {
		tables[c.Table] = true
		var n, k int64
		q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE %q::text LIKE ?`, c.Table, c.Column)
		require.NoError(t, p.store.DB().Raw(q, "%"+token+"%").Scan(&n).Error)
		require.Zero(t, n, "the raw link token is stored in %s.%s", c.Table, c.Column)
		require.NoError(t, p.store.DB().Raw(q, "%"+control+"%").Scan(&k).Error)
		controlFound += k
	}
	require.Positive(t, controlFound, "the same search finds the invitation's ID")
	require.True(t, tables["outbox_messages"] && tables["link_tokens"], "the search covered the outbox and the tokens: %v", tables)
}

func TestWrongRelayPasswordEndsInEmailFailed(t *testing.T) {
	p := startWithRelay(t, false, func(_ *mailtest.Options, cfg *config.Config) {
		cfg.SMTPURL = "smtp://onboarding:wrong-password@{addr}?tls=required"
	})
	provider := p.createPartner("Auth Provider", "indirect_provider", false)
	reseller := p.createPartner("Auth Reseller", "reseller", false)
	p.activePartnership(provider, reseller)
	invID := p.invite(reseller, provider, "admin@northwind.example")

	var inv response
	p.eventually("email_failed on the timeline", func() bool {
		inv = p.call("GET", "/v1/invitations/"+invID, reseller.key, nil)
		return strings.Contains(strings.Join(eventTypes(inv), ","), "email_failed")
	})
	require.Equal(t, "waiting_for_customer", inv.str("status"), "the invitation keeps waiting: it can be cancelled or expire")
	d, _ := inv.json["email_delivery"].(map[string]any)
	require.Equal(t, "failed", d["state"])
	require.Equal(t, "auth_failed", d["reason"])
	require.NotContains(t, string(inv.body), "wrong-password")
	require.NotContains(t, p.logs.String(), "wrong-password", "the password is never logged")
	require.Empty(t, p.smtp.Messages())

	metrics := get(t, "http://"+p.app.MetricsAddr()+"/metrics", "")
	require.Contains(t, string(metrics.body), `onboarding_emails_total{outcome="failed"}`)

	// Cancel still works at once.
	require.Equal(t, "cancelled", p.must(200, p.call("POST", "/v1/invitations/"+invID+"/cancel", reseller.key, map[string]any{"reason": "relay broken"})).str("status"))
	p.eventually("invitation cancelled", func() bool {
		return p.call("GET", "/v1/invitations/"+invID, reseller.key, nil).str("status") == "cancelled"
	})
	awaitClosed(t, p, workflows.InvitationWorkflowID(invID))
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(invID), "invitation-email-failed-cancelled-round2.json")
}

// awaitClosed waits for a workflow to end, so that its whole history is saved.
func awaitClosed(t *testing.T, p *product, workflowID string) {
	t.Helper()
	p.eventually(workflowID+" closed", func() bool {
		d, err := p.app.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		return err == nil && d.WorkflowExecutionInfo.GetCloseTime() != nil
	})
}

func TestRefusedAddressFixedWithPatchThenResent(t *testing.T) {
	p := startWithRelay(t, false, func(o *mailtest.Options, _ *config.Config) {
		o.RefuseRecipients = []string{"typo@northwind.example"}
	})
	provider := p.createPartner("Fix Provider", "indirect_provider", false)
	reseller := p.createPartner("Fix Reseller", "reseller", false)
	p.activePartnership(provider, reseller)
	invID := p.invite(reseller, provider, "typo@northwind.example")

	p.eventually("recipient refused", func() bool {
		inv := p.call("GET", "/v1/invitations/"+invID, reseller.key, nil)
		d, _ := inv.json["email_delivery"].(map[string]any)
		return d["state"] == "failed" && d["reason"] == "recipient_refused"
	})
	bad := p.call("PATCH", "/v1/invitations/"+invID, reseller.key, map[string]any{"customer": map[string]any{"email": "not an address"}})
	require.Equal(t, 422, bad.status, string(bad.body))
	fixed := p.must(200, p.call("PATCH", "/v1/invitations/"+invID, reseller.key, map[string]any{"customer": map[string]any{"email": "admin@northwind.example"}}))
	require.Equal(t, "admin@northwind.example", fixed.json["customer"].(map[string]any)["email"])
	p.must(202, p.call("POST", "/v1/invitations/"+invID+"/resend", reseller.key, nil))

	got, err := p.smtp.WaitFor("admin@northwind.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	require.NotEmpty(t, invitationLink.FindString(got.Body))
	p.eventually("delivery recorded", func() bool {
		inv := p.call("GET", "/v1/invitations/"+invID, reseller.key, nil)
		d, _ := inv.json["email_delivery"].(map[string]any)
		return d["state"] == "sent" && d["to"] == "admin@northwind.example"
	})
	types := eventTypes(p.call("GET", "/v1/invitations/"+invID, reseller.key, nil))
	require.Contains(t, types, "email_failed")
	require.Contains(t, types, "customer_email_changed")
	require.Contains(t, types, "invitation_resent")
	p.must(200, p.call("POST", "/v1/invitations/"+invID+"/cancel", reseller.key, map[string]any{"reason": "done"}))
	awaitClosed(t, p, workflows.InvitationWorkflowID(invID))
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(invID), "invitation-email-fixed-resent-round2.json")
}
