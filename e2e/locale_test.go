package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/workflows"
)

// TestCustomerLanguageEndToEnd: the invitation's locale (or the partner's
// default) picks the language of the customer's e-mail and pages; the
// partner's message is sent as written.
func TestCustomerLanguageEndToEnd(t *testing.T) {
	p := startProduct(t)
	provider := p.createPartner("Contoso Distribution", "indirect_provider", false)
	created := p.must(201, p.call("POST", "/v1/admin/partners", adminToken, map[string]any{
		"name": "Fabrikam France", "type": "reseller", "contact_email": "ventes@fabrikam.example", "locale": "fr",
	}))
	require.Equal(t, "fr", created.str("locale"))
	reseller := partner{id: created.str("id"), key: created.str("api_key")}
	require.Equal(t, "fr", p.call("GET", "/v1/me", reseller.key, nil).str("locale"))
	p.activePartnership(provider, reseller)

	// No locale on the invitation: the partner's French.
	fr := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id,
		"customer":    map[string]any{"company_name": "Société Générale Test", "email": "admin@sgt.example"},
		"message":     "Bonjour, merci d'accepter : {{link}}",
	}))
	require.Equal(t, "fr", fr.str("locale"))
	mail, err := p.smtp.WaitFor("admin@sgt.example", "Fabrikam France vous invite", 20*time.Second)
	require.NoError(t, err)
	require.Contains(t, mail.Body, "Bonjour Société Générale Test,")
	require.Contains(t, mail.Body, "Bonjour, merci d'accepter : "+p.base+"/i/", "the partner's message as written, link in place")
	link := invitationLink.FindString(mail.Body)
	require.NotEmpty(t, link)
	page := get(t, link, "")
	require.Equal(t, 200, page.status)
	html := string(page.body)
	require.Contains(t, html, `<html lang="fr">`)
	require.Contains(t, html, "Fabrikam France vous invite à établir une relation de revendeur")
	require.Contains(t, html, ">Accepter</button>")
	require.Contains(t, html, "Bonjour, merci d&#39;accepter : (cette page)")
	declined := postForm(t, link+"/decline")
	require.Equal(t, 200, declined.status)
	require.Contains(t, string(declined.body), "Invitation refusée")
	var again response
	p.eventually("the decline recorded", func() bool { again = get(t, link, ""); return again.status == http.StatusGone })
	require.Contains(t, string(again.body), "Vous avez déjà répondu à cette invitation")

	// The invitation's own locale wins over the partner's.
	de := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "locale": "de",
		"customer":        map[string]any{"company_name": "Northwind GmbH", "email": "admin@northwind-gmbh.example"},
		"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 30, "auto_extend": false},
	}))
	require.Equal(t, "de", de.str("locale"))
	mail, err = p.smtp.WaitFor("admin@northwind-gmbh.example", "Fabrikam France lädt Sie zu einer Reseller-Beziehung ein", 20*time.Second)
	require.NoError(t, err)
	require.Contains(t, mail.Body, "mit den Rollen Helpdesk Administrator für 30 Tage.")
	link = invitationLink.FindString(mail.Body)
	page = get(t, link, "")
	require.Contains(t, string(page.body), `<html lang="de">`)
	require.Contains(t, string(page.body), "Delegierte Administratorrollen Helpdesk Administrator für 30 Tage.")
	require.Equal(t, 200, postJSON(t, link+"/accept").status, "JSON clients are unaffected")
	p.eventually("the German invitation completed", func() bool {
		return p.call("GET", "/v1/invitations/"+de.str("id"), reseller.key, nil).str("status") == "completed"
	})
	// A history with the templated, localized e-mails, replayed by workflows/replay_test.go.
	saveHistory(t, p.app.Temporal, workflows.InvitationWorkflowID(de.str("id")), "invitation-localized-round2.json")

	// A language we do not have is refused at the edge, naming those we have.
	bad := p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "locale": "it", "customer": map[string]any{"company_name": "X", "email": "x@x.example"},
	})
	require.Equal(t, 422, bad.status, string(bad.body))
	require.Contains(t, string(bad.body), "en, de, fr, es, nl")

	// A link we cannot resolve answers in the browser's language.
	req, err := http.NewRequest("GET", p.base+"/i/"+strings.Repeat("x", 43), nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Language", "nl-BE,nl;q=0.9,en;q=0.5")
	unknown := do(t, req)
	require.Equal(t, http.StatusNotFound, unknown.status)
	require.Contains(t, string(unknown.body), `<html lang="nl">`)
	require.Contains(t, string(unknown.body), "Deze link is ongeldig")
}

// TestConsentInSpanishEndToEnd: the extension's locale gives the customer a
// Spanish consent request, consent page and result, and the consent record
// keeps the Spanish text the customer was shown.
func TestConsentInSpanishEndToEnd(t *testing.T) {
	p := startProduct(t)
	provider, reseller, customerID := p.directBillReseller("Tailspin")
	x := p.must(202, p.call("POST", "/v1/relationship-extensions", reseller.key, map[string]any{
		"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true, "locale": "es",
		"consent": map[string]any{"method": "customer_confirmation"}}))
	require.Equal(t, "es", x.str("locale"))
	mail, err := p.smtp.WaitFor("admin@tailspin.example", "Tailspin Reseller solicita su consentimiento para trabajar con Tailspin Distribution", 20*time.Second)
	require.NoError(t, err)
	require.Contains(t, mail.Body, "Buenos días, Tailspin Customer:")
	link := consentLink.FindString(mail.Body)
	require.NotEmpty(t, link, mail.Body)

	page := get(t, link, "")
	require.Equal(t, 200, page.status)
	html := string(page.body)
	for _, want := range []string{`<html lang="es">`, "Se comparte una copia de sus datos de facturación con Tailspin Distribution:",
		"- Dirección: 1 Main Street", ">Dar consentimiento</button>", "Fecha límite de respuesta"} {
		require.Contains(t, html, want)
	}
	consented := postForm(t, link+"/consent")
	require.Equal(t, 200, consented.status, string(consented.body))
	require.Contains(t, string(consented.body), "Gracias: consentimiento otorgado")

	p.eventually("consent recorded", func() bool {
		rec, err := p.store.ConsentForExtension(context.Background(), x.str("id"))
		return err == nil && rec.ID != ""
	})
	rec, err := p.store.ConsentForExtension(context.Background(), x.str("id"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(rec.TextShown, "Tailspin Reseller solicita el consentimiento de Tailspin Customer."), rec.TextShown)
	require.Contains(t, rec.TextShown, "- Código postal: 98101")
}
