package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestEveryV1OperationIsAuthenticated: an operation the document leaves
// public is a decision, not an accident.
func TestEveryV1OperationIsAuthenticated(t *testing.T) {
	for key, op := range specOperations {
		path := strings.SplitN(key, " ", 2)[1]
		if strings.HasPrefix(path, "/v1/admin/") && op.security != securityAdminToken {
			t.Errorf("%s: admin route without the admin token", key)
		}
		if strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/v1/admin/") && op.security != securityPartnerKey {
			t.Errorf("%s: partner route without the partner key", key)
		}
		if !strings.HasPrefix(path, "/v1/") && op.security != "" {
			t.Errorf("%s: page or operations route asks for credentials", key)
		}
	}
}

const invitationBody = `{"provider_id": "0190a4b6-0000-7000-8000-000000000001",
 "customer": {"company_name": "Northwind", "email": "admin@northwind.example"},
 "message": "Hello Northwind, as agreed please accept here: {{link}}",
 "delegated_admin": {"roles": ["Helpdesk Administrator"], "duration_days": 90, "auto_extend": false}}`

// BenchmarkValidateCreateInvitation is the edge's cost on the busiest start:
// reading the body and validating it against the document.
func BenchmarkValidateCreateInvitation(b *testing.B) {
	e := echo.New()
	op := specOperations["POST /v1/invitations"]
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/invitations", strings.NewReader(invitationBody))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		if err := validateRequest(e.NewContext(req, httptest.NewRecorder()), op); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEdgeValidationOfBodies(t *testing.T) {
	e := echo.New()
	op := specOperations["POST /v1/invitations"]
	cases := []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"JSON with a charset", "application/json; charset=utf-8", invitationBody, 0, ""},
		{"no Content-Type is read as JSON", "", invitationBody, 0, ""},
		{"text is refused", "text/plain", invitationBody, http.StatusUnsupportedMediaType, ""},
		{"an empty body names what is missing", "", "", http.StatusUnprocessableEntity, "provider_id"},
		{"malformed JSON", "application/json", `{"provider_id":`, http.StatusBadRequest, ""},
		{"a nested field of the wrong type", "application/json", `{"provider_id": "p", "customer": {"email": 5}}`, http.StatusBadRequest, "customer.email"},
		{"an array item of the wrong type", "application/json", `{"provider_id": "p", "customer": {}, "delegated_admin": {"roles": [7], "duration_days": 5}}`, http.StatusBadRequest, "delegated_admin.roles[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v1/invitations", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set(echo.HeaderContentType, tc.contentType)
			}
			err := validateRequest(e.NewContext(req, httptest.NewRecorder()), op)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			p := toProblem(err)
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d: %+v", p.Status, tc.status, p)
			}
			if tc.field != "" && !slices.ContainsFunc(p.Errors, func(f FieldError) bool { return f.Field == tc.field }) {
				t.Fatalf("no error for %s: %+v", tc.field, p.Errors)
			}
		})
	}
}
