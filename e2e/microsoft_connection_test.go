package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/entra/entratest"
	"github.com/csp-onboarding/onboarding/models"
)

// A partner connects its app registration in simulated mode: checked by a
// token request to the simulator, sealed at rest, never answered; the
// access assignment configuration takes roles by name or id.
func TestMicrosoftConnectionInSimulatedMode(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) { c.Microsoft.Mode = config.MicrosoftSimulated })
	reseller := p.createPartner("Fabrikam", "reseller", false)
	const tenant, client, secret = "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11", "b0a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10", "the-client-secret-value"

	p.must(404, p.call("GET", "/v1/me/microsoft-connection", reseller.key, nil))
	saved := p.must(200, p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{"tenant_id": tenant, "client_id": client, "client_secret": secret}))
	require.Equal(t, "connected", saved.str("status"))
	require.Equal(t, "simulated", saved.str("mode"))
	require.NotEmpty(t, saved.str("last_success_at"))
	require.NotContains(t, string(saved.body), secret)

	got := p.must(200, p.call("GET", "/v1/me/microsoft-connection", reseller.key, nil))
	require.Equal(t, tenant, got.str("tenant_id"))
	require.NotContains(t, string(got.body), secret)
	row, err := p.store.MicrosoftConnection(t.Context(), reseller.id)
	require.NoError(t, err)
	require.NotContains(t, row.SecretSealed, secret, "sealed at rest")
	require.Equal(t, models.MicrosoftConnected, row.Status)
	require.NotContains(t, p.logs.String(), secret)

	// The simulator knows the app now: another secret is refused by Microsoft, named in a 422.
	bad := p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{"tenant_id": tenant, "client_id": client, "client_secret": "wrong"})
	require.Equal(t, 422, bad.status, string(bad.body))
	require.Contains(t, string(bad.body), "invalid_client")
	p.must(422, p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{"tenant_id": "not-a-guid", "client_id": client, "client_secret": secret}))

	// Access assignments: group → roles, by name or id, stored as ids.
	const group = "3f2b6a1e-9c1d-4e8a-b7a5-0c9d8e7f6a5b"
	a := p.must(200, p.call("PUT", "/v1/me/delegated-admin-assignments", reseller.key, map[string]any{"assignments": []map[string]any{
		{"security_group_id": group, "role_ids": []string{"Helpdesk Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"}}}}))
	first := a.json["assignments"].([]any)[0].(map[string]any)
	require.Equal(t, []any{"729827e3-9c14-49f7-bb1b-9608f156bbb8", "fe930be7-5e62-47db-91af-98c3a49a38b1"}, first["role_ids"])
	require.Equal(t, []any{"Helpdesk Administrator", "User Administrator"}, first["roles"])
	refused := p.call("PUT", "/v1/me/delegated-admin-assignments", reseller.key, map[string]any{"assignments": []map[string]any{
		{"security_group_id": group, "role_ids": []string{"Helpdesk Agent"}}}})
	require.Equal(t, 422, refused.status)
	require.Contains(t, string(refused.body), "Helpdesk Agent")

	p.must(204, p.call("DELETE", "/v1/me/microsoft-connection", reseller.key, nil))
	p.must(404, p.call("DELETE", "/v1/me/microsoft-connection", reseller.key, nil))
}

// With MICROSOFT_MODE=off (the default) nothing leaves the process.
func TestMicrosoftConnectionRefusedWhenOff(t *testing.T) {
	p := startProduct(t)
	reseller := p.createPartner("Fabrikam", "reseller", false)
	p.must(409, p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{
		"tenant_id": "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11", "client_id": "b0a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10", "client_secret": "x"}))
	roles := p.must(200, p.call("GET", "/v1/delegated-admin-roles", reseller.key, nil))
	require.Contains(t, string(roles.body), `"62e90394-69f5-4237-9190-012177145e10"`)
}

// A partner whose app registration uses a certificate instead of a secret:
// the PEM is checked (key matches, still valid), proven with a signed
// assertion at the simulator's token endpoint, sealed, and never answered;
// the answer shows its thumbprint and end of validity.
func TestMicrosoftConnectionWithACertificate(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) { c.Microsoft.Mode = config.MicrosoftSimulated })
	reseller := p.createPartner("Fabrikam", "reseller", false)
	const tenant, client = "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11", "c1a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10"
	bundle, cert := entratest.Certificate(t, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	keyPEM := string(bundle[strings.Index(string(bundle), "-----BEGIN PRIVATE KEY"):])

	for name, body := range map[string]map[string]any{
		"no credential": {"tenant_id": tenant, "client_id": client},
		"both":          {"tenant_id": tenant, "client_id": client, "client_secret": "x", "certificate": string(bundle)},
		"not PEM":       {"tenant_id": tenant, "client_id": client, "certificate": "MIIB..."},
		"key missing":   {"tenant_id": tenant, "client_id": client, "certificate": string(bundle[:len(bundle)-len(keyPEM)])},
	} {
		r := p.call("PUT", "/v1/me/microsoft-connection", reseller.key, body)
		require.Equal(t, 422, r.status, "%s: %s", name, r.body)
		require.Contains(t, string(r.body), `"field"`, name)
	}
	expired, _ := entratest.Certificate(t, time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
	r := p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{"tenant_id": tenant, "client_id": client, "certificate": string(expired)})
	require.Equal(t, 422, r.status)
	require.Contains(t, string(r.body), "not now")

	saved := p.must(200, p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{"tenant_id": tenant, "client_id": client, "certificate": string(bundle)}))
	require.Equal(t, "connected", saved.str("status"))
	require.Equal(t, "certificate", saved.str("credential"))
	require.Regexp(t, `^[0-9A-F]{40}$`, saved.str("certificate_thumbprint"))
	require.Equal(t, cert.NotAfter.UTC().Format(time.RFC3339), saved.str("certificate_expires_at"))
	require.NotContains(t, string(saved.body), "PRIVATE KEY")
	row, err := p.store.MicrosoftConnection(t.Context(), reseller.id)
	require.NoError(t, err)
	require.Equal(t, models.MicrosoftCertificate, row.Credential)
	require.NotContains(t, row.SecretSealed, "PRIVATE KEY", "sealed at rest")
	require.NotContains(t, p.logs.String(), strings.TrimSpace(keyPEM)[30:90])

	// The simulator now holds this certificate for the app: another one is refused by Microsoft, named in a 422.
	other, _ := entratest.Certificate(t, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	r = p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{"tenant_id": tenant, "client_id": client, "certificate": string(other)})
	require.Equal(t, 422, r.status, string(r.body))
	require.Contains(t, string(r.body), "AADSTS700027")
}
