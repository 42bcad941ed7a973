package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestBodiesAreDecodedStrictly: audit §11 and §15. What the handlers bind
// is exactly what the document validated.
func TestBodiesAreDecodedStrictly(t *testing.T) {
	e := echo.New()
	ext := `{"customer_id":"c","provider_id":"p","share_bill_to":true,`
	cases := []struct {
		name, op, path, body string
		field                string // "" when the body passes
	}{
		{"a differently-cased enum field", "POST /v1/relationship-extensions", "/v1/relationship-extensions", ext + `"consent":{"METHOD":"x"}}`, "consent.METHOD"},
		{"a differently-cased top-level field", "POST /v1/admin/partners", "/v1/admin/partners", `{"name":"R","type":"reseller","TYPE":"bogus","contact_email":"a@b.example"}`, "TYPE"},
		{"an unknown field", "POST /v1/invitations", "/v1/invitations", `{"provider_id":"p","customer":{"company_name":"N","email":"a@b.example"},"cc":"x@y.example"}`, "cc"},
		{"an unknown nested field", "POST /v1/invitations", "/v1/invitations", `{"provider_id":"p","customer":{"company_name":"N","email":"a@b.example","Email":"x@y.example"}}`, "customer.Email"},
		{"an unknown field in an array item's object", "POST /v1/customers", "/v1/customers", `{"company_name":"W","domain":"w.example","contact_email":"a@w.example","bill_to":{"company_name":"W","address_line1":"1","city":"S","postal_code":"1","country":"US","email":"b@w.example","phone":"+1 425 555 0100","extra":1}}`, "bill_to.extra"},
		{"a body for a route that takes none", "POST /v1/enrollment", "/v1/enrollment", `{"status":"approved"}`, "status"},
		{"NUL in an attestation's signer", "POST /v1/relationship-extensions", "/v1/relationship-extensions", ext + `"consent":{"method":"partner_attestation","signer_name":"Ann\u0000Beck","signer_email":"ann@w.example","obtained_at":"2026-11-20T09:00:00Z","evidence":"Signed letter CL-1"}}`, "consent.signer_name"},
		{"NUL in evidence", "POST /v1/relationship-extensions", "/v1/relationship-extensions", ext + `"consent":{"method":"partner_attestation","signer_name":"Ann","signer_email":"ann@w.example","obtained_at":"2026-11-20T09:00:00Z","evidence":"Signed\u0000letter"}}`, "consent.evidence"},
		{"a bare CR in a reason", "POST /v1/invitations/{id}/cancel", "/v1/invitations/x/cancel", `{"reason":"a\r.\rMAIL FROM:<x@y.example>"}`, "reason"},
		{"a bidi override in a role", "POST /v1/invitations", "/v1/invitations", `{"provider_id":"p","customer":{"company_name":"N","email":"a@b.example"},"delegated_admin":{"roles":["A\u202eB"],"duration_days":5}}`, "delegated_admin.roles[0]"},
		{"newlines and CRLF in a message pass", "POST /v1/invitations", "/v1/invitations", `{"provider_id":"p","customer":{"company_name":"N","email":"a@b.example"},"message":"Hi\r\nthere\n\t{{link}}"}`, ""},
		{"an exact body passes", "POST /v1/admin/partners", "/v1/admin/partners", `{"name":"R","type":"reseller","contact_email":"a@b.example"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := specOperations[strings.Replace(strings.Replace(tc.op, "{id}", ":id", 1), "{partner_id}", ":partner_id", 1)]
			if op == nil {
				t.Fatalf("no operation %s", tc.op)
			}
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			c := e.NewContext(req, httptest.NewRecorder())
			if strings.Contains(tc.op, "{id}") {
				c.SetParamNames("id")
				c.SetParamValues("0190a4b6-0000-7000-8000-000000000001")
			}
			err := validateRequest(c, op)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			p := toProblem(err)
			if p.Status != http.StatusUnprocessableEntity || !slices.ContainsFunc(p.Errors, func(f FieldError) bool { return f.Field == tc.field }) {
				t.Fatalf("want 422 naming %s, got %d %+v", tc.field, p.Status, p.Errors)
			}
		})
	}
}
