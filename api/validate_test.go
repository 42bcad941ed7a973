package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/api/oapi"
)

func TestValidateMessage(t *testing.T) {
	ok := []string{
		"",
		"Hello Northwind,\nplease accept: {{link}}\nThanks, Fabrikam",
		"No placeholder: the link goes after the text.",
		"Prices are 5 < 7 and 3 > 2; e-mail me at sales@fabrikam.example.",
		"Version 1.2.3 is out. Call +44 20 7946 0000.",
		"Our {internal} code names stay as they are.",
	}
	for _, m := range ok {
		var f fieldErrors
		validateMessage(&f, m)
		if len(f) != 0 {
			t.Errorf("%q refused: %v", m, f)
		}
	}
	bad := []string{
		"<a href=x>click</a>", "<script>alert(1)</script>", "hi </b>", "<!-- x -->",
		"https://evil.example/login", "HTTP://EVIL.EXAMPLE", "ftp://files.example", "see www.evil.example",
		"mailto:x@y.example", "javascript:alert(1)", "go to evil.example/login", "visit contoso.com today", "//evil.example", "phish.ru", "[click](x)", "&amp;", "&#60;",
		"{{name}}", "}}", "{{link}} }}", strings.Repeat("a", MaxMessageLength+1), "bell\a", "nul\x00",
	}
	for _, m := range bad {
		var f fieldErrors
		validateMessage(&f, m)
		if len(f) == 0 {
			t.Errorf("%q accepted", m)
		}
	}
}

func FuzzValidateMessage(f *testing.F) {
	for _, seed := range []string{"", "hi {{link}}", "<b>", "https://x.example", "a.b/c", "{{", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		var errs fieldErrors
		validateMessage(&errs, msg)
		if len(errs) > 0 {
			return
		}
		if utf8.RuneCountInString(msg) > MaxMessageLength {
			t.Fatalf("accepted an over-long message")
		}
		lower := strings.ToLower(msg)
		for _, forbidden := range []string{"://", "www.", "<script", "<a ", "mailto:"} {
			if strings.Contains(lower, forbidden) {
				t.Fatalf("accepted %q containing %q", msg, forbidden)
			}
		}
	})
}

// FuzzInvitationRequest: any body is, after the spec's validation at the
// edge and the handler's own checks, a 4xx problem or a valid request —
// never a panic or a 5xx.
func FuzzInvitationRequest(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `null`, `{"provider_id": "p", "customer": {"company_name": "N", "email": "a@b.example"}}`,
		`{"customer": {"customer_id": "c", "email": "x"}}`, `{"delegated_admin": {"roles": [""], "duration_days": -1}}`,
		`{"provider_id": 5}`, `{"message": "\u0000"}`, `{"customer": null}`, `"x"`, `{`,
	} {
		f.Add(seed)
	}
	e := echo.New()
	op := specOperations["POST /v1/invitations"]
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/invitations", strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		c := e.NewContext(req, httptest.NewRecorder())
		err := validateRequest(c, op)
		if err == nil {
			var in oapi.CreateInvitationJSONRequestBody
			if jerr := json.NewDecoder(c.Request().Body).Decode(&in); jerr != nil {
				t.Fatalf("body %q passed the spec but does not bind: %v", body, jerr)
			}
			err = validateInvitation(&in)
		}
		if err == nil {
			return
		}
		var p *Problem
		if !errors.As(err, &p) || p.Status < 400 || p.Status >= 500 || p.Code == "" {
			t.Fatalf("body %q: %v is not a 4xx problem", body, err)
		}
	})
}

func TestValidEmail(t *testing.T) {
	for _, good := range []string{"admin@northwind.example", "a.b+c@sub.example.com"} {
		if !validEmail(good) {
			t.Errorf("%s refused", good)
		}
	}
	for _, bad := range []string{"", "x", "x@", "@x.com", "Name <a@b.example>", "a@localhost", "a@b.example\n", strings.Repeat("a", 250) + "@b.example"} {
		if validEmail(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
