package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/i18n"
)

// TestLocaleEnumIsTheCatalogues: the document's Locale enum, which the edge
// enforces, lists exactly the languages with a catalogue.
func TestLocaleEnumIsTheCatalogues(t *testing.T) {
	var enum []string
	for _, v := range spec.Components.Schemas["Locale"].Value.Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	if !slices.Equal(enum, i18n.Supported) {
		t.Fatalf("openapi Locale enum %v, catalogues %v", enum, i18n.Supported)
	}
}

// TestUnknownLocaleIs422NamingTheSupportedOnes on every create that takes one.
func TestUnknownLocaleIs422NamingTheSupportedOnes(t *testing.T) {
	e := echo.New()
	for _, tc := range []struct{ op, path, body string }{
		{"POST /v1/invitations", "/v1/invitations", strings.Replace(invitationBody, `"provider_id"`, `"locale": "it", "provider_id"`, 1)},
		{"POST /v1/relationship-extensions", "/v1/relationship-extensions", `{"customer_id": "c", "provider_id": "p", "share_bill_to": true, "locale": "pt-BR"}`},
		{"POST /v1/customer-tenant-requests", "/v1/customer-tenant-requests", `{"provider_id": "p", "company_name": "N", "domain": "n.example", "contact_email": "a@n.example", "locale": "EN"}`},
		{"POST /v1/admin/partners", "/v1/admin/partners", `{"name": "F", "type": "reseller", "contact_email": "a@f.example", "locale": "english"}`},
	} {
		t.Run(tc.op, func(t *testing.T) {
			op, ok := specOperations[tc.op]
			if !ok {
				t.Fatalf("no operation %s", tc.op)
			}
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			p := toProblem(validateRequest(e.NewContext(req, httptest.NewRecorder()), op))
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %+v", p.Status, p)
			}
			i := slices.IndexFunc(p.Errors, func(f FieldError) bool { return f.Field == "locale" })
			if i < 0 {
				t.Fatalf("no error for locale: %+v", p.Errors)
			}
			for _, l := range i18n.Supported {
				if !strings.Contains(p.Errors[i].Message, l) {
					t.Errorf("%q does not name %s", p.Errors[i].Message, l)
				}
			}
		})
	}
	// A supported one passes the edge.
	req := httptest.NewRequest(http.MethodPost, "/v1/invitations", strings.NewReader(strings.Replace(invitationBody, `"provider_id"`, `"locale": "nl", "provider_id"`, 1)))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	if err := validateRequest(e.NewContext(req, httptest.NewRecorder()), specOperations["POST /v1/invitations"]); err != nil {
		t.Fatalf("nl refused: %v", err)
	}
}
