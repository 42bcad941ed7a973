package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadInputIsAClearProblem: every bad request answers a 4xx
// application/problem+json with its stable code, never a 5xx.
func TestBadInputIsAClearProblem(t *testing.T) {
	p := startProduct(t)
	provider := p.createPartner("Bad Input Provider", "indirect_provider", false)
	reseller := p.createPartner("Bad Input Reseller", "reseller", false)
	stranger := p.createPartner("Stranger Reseller", "reseller", false)
	lonelyProvider := p.createPartner("Unpartnered Provider", "indirect_provider", false)
	p.activePartnership(provider, reseller)
	inv := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Proseware", "email": "it@proseware.example"}},
		"Idempotency-Key", "dup-key"))
	invPath := "/v1/invitations/" + inv.str("id")
	newCustomer := map[string]any{"company_name": "Proseware", "email": "it@proseware.example"}
	invite := func(extra map[string]any) map[string]any {
		body := map[string]any{"provider_id": provider.id, "customer": newCustomer}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}

	cases := []struct {
		name    string
		method  string
		path    string
		key     string
		body    any
		headers []string
		status  int
		code    string
		field   string
	}{
		{"malformed JSON", "POST", "/v1/admin/partners", adminToken, `{"name": "x",`, nil, 400, "validation-failed", ""},
		{"JSON array instead of object", "POST", "/v1/invitations", reseller.key, `[1,2]`, nil, 400, "validation-failed", ""},
		{"wrong field type", "POST", "/v1/admin/partners", adminToken, `{"name": 7}`, nil, 400, "validation-failed", ""},
		{"missing fields", "POST", "/v1/admin/partners", adminToken, map[string]any{"type": "reseller"}, nil, 422, "validation-failed", "name"},
		{"bad partner type", "POST", "/v1/admin/partners", adminToken, map[string]any{"name": "X", "type": "distributor", "contact_email": "a@b.example"}, nil, 422, "validation-failed", "type"},
		{"bad e-mail", "POST", "/v1/admin/partners", adminToken, map[string]any{"name": "X", "type": "reseller", "contact_email": "not-an-email"}, nil, 422, "validation-failed", "contact_email"},
		{"no admin token", "POST", "/v1/admin/partners", "", map[string]any{}, nil, 401, "unauthorized", ""},
		{"partner key on admin route", "POST", "/v1/admin/partners", reseller.key, map[string]any{}, nil, 401, "unauthorized", ""},
		{"no API key", "GET", "/v1/me", "", nil, nil, 401, "unauthorized", ""},
		{"wrong API key", "GET", "/v1/me", "csp_key_wrong", nil, nil, 401, "unauthorized", ""},
		{"unknown invitation", "GET", "/v1/invitations/01900000-0000-7000-8000-000000000000", reseller.key, nil, nil, 404, "not-found", ""},
		{"another partner's invitation", "GET", invPath, stranger.key, nil, nil, 404, "not-found", ""},
		{"cancel another partner's invitation", "POST", invPath + "/cancel", stranger.key, nil, nil, 404, "not-found", ""},
		{"unknown partnership", "GET", "/v1/partnerships/nope", reseller.key, nil, nil, 404, "not-found", ""},
		{"unknown customer", "GET", "/v1/customers/nope", reseller.key, nil, nil, 404, "not-found", ""},
		{"unknown route", "GET", "/v1/nothing-here", reseller.key, nil, nil, 404, "not-found", ""},
		{"wrong method", "DELETE", "/v1/invitations", reseller.key, nil, nil, 405, "method-not-allowed", ""},
		{"oversized body", "POST", "/v1/invitations", reseller.key, `{"message":"` + strings.Repeat("a", 100_000) + `"}`, nil, 413, "payload-too-large", ""},
		{"message too long", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"message": strings.Repeat("a", 2001)}), nil, 422, "validation-failed", "message"},
		{"message with a URL", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"message": "log in at https://evil.example/login"}), nil, 422, "validation-failed", "message"},
		{"message with a bare web address", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"message": "see www.evil.example"}), nil, 422, "validation-failed", "message"},
		{"message with markup", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"message": "<b>hi</b> {{link}}"}), nil, 422, "validation-failed", "message"},
		{"message with another placeholder", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"message": "hi {{name}}"}), nil, 422, "validation-failed", "message"},
		{"missing customer", "POST", "/v1/invitations", reseller.key, map[string]any{"provider_id": provider.id}, nil, 422, "validation-failed", "customer"},
		{"customer with a bad e-mail", "POST", "/v1/invitations", reseller.key, map[string]any{"provider_id": provider.id, "customer": map[string]any{"company_name": "X", "email": "x@"}}, nil, 422, "validation-failed", "customer.email"},
		{"delegated admin too long", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 731}}), nil, 422, "validation-failed", "delegated_admin.duration_days"},
		{"auto-extend with Global Administrator", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"delegated_admin": map[string]any{"roles": []string{"Global Administrator"}, "duration_days": 30, "auto_extend": true}}), nil, 422, "validation-failed", "delegated_admin.auto_extend"},
		{"auto-extend with global administrator in other case (audit §8)", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"delegated_admin": map[string]any{"roles": []string{"global administrator "}, "duration_days": 30, "auto_extend": true}}), nil, 422, "validation-failed", "delegated_admin.auto_extend"},
		{"unknown delegated admin role", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"delegated_admin": map[string]any{"roles": []string{"Helpdesk Agent"}, "duration_days": 30}}), nil, 422, "validation-failed", "delegated_admin.roles[0]"},
		{"unknown provider", "POST", "/v1/invitations", reseller.key, map[string]any{"provider_id": reseller.id, "customer": newCustomer}, nil, 422, "validation-failed", "provider_id"},
		{"no active partnership", "POST", "/v1/invitations", reseller.key, map[string]any{"provider_id": lonelyProvider.id, "customer": newCustomer}, nil, 422, "partnership-not-active", ""},
		{"provider sends an invitation", "POST", "/v1/invitations", provider.key, invite(nil), nil, 403, "forbidden", ""},
		{"reseller invites a partnership", "POST", "/v1/partnerships", reseller.key, map[string]any{"reseller_id": stranger.id}, nil, 403, "forbidden", ""},
		{"partnership with a provider as reseller", "POST", "/v1/partnerships", provider.key, map[string]any{"reseller_id": lonelyProvider.id}, nil, 422, "validation-failed", "reseller_id"},
		{"second open partnership", "POST", "/v1/partnerships", provider.key, map[string]any{"reseller_id": reseller.id}, nil, 409, "conflict", ""},
		{"provider accepts its own partnership invite", "POST", "/v1/partnerships/" + firstPartnership(t, p, provider) + "/accept", provider.key, nil, nil, 403, "forbidden", ""},
		{"Idempotency-Key reused for another request", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"message": "different"}), []string{"Idempotency-Key", "dup-key"}, 409, "conflict", ""},
		{"bad limit", "GET", "/v1/invitations?limit=abc", reseller.key, nil, nil, 422, "validation-failed", "limit"},
		{"limit too large", "GET", "/v1/relationships?limit=100000", reseller.key, nil, nil, 422, "validation-failed", "limit"},
		{"bad status filter", "GET", "/v1/invitations?status=bogus", reseller.key, nil, nil, 422, "validation-failed", "status"},
		{"form body instead of JSON", "POST", "/v1/partnerships", provider.key, "reseller_id=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported-media-type", ""},
		{"nested wrong type", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": "ninety"}}), nil, 400, "validation-failed", "delegated_admin.duration_days"},
		{"empty role list", "POST", "/v1/invitations", reseller.key, invite(map[string]any{"delegated_admin": map[string]any{"roles": []string{}, "duration_days": 30}}), nil, 422, "validation-failed", "delegated_admin.roles"},
		{"Idempotency-Key too long", "POST", "/v1/invitations", reseller.key, invite(nil), []string{"Idempotency-Key", strings.Repeat("k", 201)}, 422, "validation-failed", "Idempotency-Key"},
		{"attestation time not a time", "POST", "/v1/relationship-extensions", reseller.key, map[string]any{"customer_id": "c", "provider_id": provider.id, "share_bill_to": true,
			"consent": map[string]any{"method": "partner_attestation", "obtained_at": "yesterday"}}, nil, 422, "validation-failed", "consent.obtained_at"},
		{"unknown consent method", "POST", "/v1/relationship-extensions", reseller.key, map[string]any{"customer_id": "c", "provider_id": provider.id, "share_bill_to": true,
			"consent": map[string]any{"method": "telepathy"}}, nil, 422, "validation-failed", "consent.method"},
		{"bad acquired_via filter", "GET", "/v1/customers?acquired_via=magic", reseller.key, nil, nil, 422, "validation-failed", "acquired_via"},
		{"bad body on an admin route", "POST", "/v1/admin/enrollments/" + reseller.id + "/reject", adminToken, map[string]any{"reason": 42}, nil, 400, "validation-failed", "reason"},
		{"unknown link token (JSON)", "POST", "/i/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/accept", "", nil, []string{"Accept", "application/json"}, 404, "not-found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := p.call(tc.method, tc.path, tc.key, tc.body, tc.headers...)
			require.Equal(t, tc.status, r.status, "%s", r.body)
			require.Less(t, r.status, 500)
			require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
			require.Equal(t, tc.code, r.json["code"], "%s", r.body)
			require.Equal(t, "/rules/"+tc.code, r.json["type"])
			require.NotEmpty(t, r.json["detail"])
			require.NotContains(t, string(r.body), "goroutine", "no stack trace")
			if tc.field != "" {
				require.Contains(t, string(r.body), `"field":"`+tc.field+`"`)
			}
		})
	}

	t.Run("unknown link page", func(t *testing.T) {
		r := get(t, p.base+"/i/not-a-real-token-at-all-000000000000000", "")
		require.Equal(t, http.StatusNotFound, r.status)
		require.Contains(t, r.header.Get("Content-Type"), "text/html")
		require.Contains(t, string(r.body), "This link is not valid")
	})
	t.Run("a JSON body without a Content-Type is still JSON", func(t *testing.T) {
		req, err := http.NewRequest("POST", p.base+"/v1/invitations", strings.NewReader(`{"provider_id": "`+provider.id+`", "customer": {"company_name": "Proseware", "email": "it@proseware.example"}}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+reseller.key)
		req.Header.Set("Idempotency-Key", "dup-key") // the same request as the first: the same invitation
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusAccepted, res.StatusCode)
		require.Equal(t, invPath, res.Header.Get("Location"))
	})
	t.Run("nothing was lost", func(t *testing.T) {
		list := p.must(200, p.call("GET", "/v1/invitations", reseller.key, nil))
		require.Len(t, list.json["items"].([]any), 1, "bad requests created nothing and removed nothing")
	})
}

func firstPartnership(t *testing.T, p *product, provider partner) string {
	t.Helper()
	r := p.must(200, p.call("GET", "/v1/partnerships", provider.key, nil))
	return r.json["items"].([]any)[0].(map[string]any)["id"].(string)
}
