package api

import (
	"net/http"
	"net/http/httptest"
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
 "delegated_admin": {"roles": ["Helpdesk Agent"], "duration_days": 90, "auto_extend": false}}`

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
