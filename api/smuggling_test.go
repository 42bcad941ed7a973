package api

import (
	"strings"
	"testing"

	"github.com/csp-onboarding/onboarding/api/oapi"
)

// TestLinkSmugglingIsRefused: audit §5. Every partner-supplied text that
// reaches a customer carries no link but ours: URL-ish shapes are refused
// whatever their top-level domain, and {{link}} stands only as its own word.
func TestLinkSmugglingIsRefused(t *testing.T) {
	message := func(f *fieldErrors, v string) { validateMessage(f, v) }
	name := func(f *fieldErrors, v string) { f.requireName("customer.company_name", v, 200) }
	reason := func(f *fieldErrors, v string) {
		if err := validReason(v, 500); err != nil {
			f.add("reason", err.Error())
		}
	}
	role := func(f *fieldErrors, v string) {
		validateDelegatedAdmin(f, delegatedAdminRequest(oapi.DelegatedAdminRequest{Roles: []string{v}, DurationDays: 30}))
	}
	type check func(*fieldErrors, string)
	attempts := []struct {
		field string
		check check
		text  string
	}{
		{"message", message, "Please confirm at csp-portal.zip?ref={{link}}"},
		{"message", message, "Open 203.0.113.10?r={{link}}"},
		{"message", message, "Open 203.0.113.10 now"},
		{"message", message, "Go to csp-portal.support today"},
		{"message", message, "Go to login.microsoft-csp.cloud"},
		{"message", message, "Go to evil。example"},
		{"message", message, "Go to evil．example"},
		{"message", message, "Go to evil｡example"},
		{"message", message, "Go to ｅｖｉｌ．ｅｘａｍｐｌｅ"},
		{"message", message, "see portal?token={{link}}"},
		{"message", message, "prefix{{link}}"},
		{"message", message, "{{link}}suffix"},
		{"message", message, "({{link}})"},
		{"message", message, "{{link}}."},
		{"message", message, "https://evil.example"},
		{"message", message, "hxxp:evil"},
		{"message", message, "mailto:x@evil.example"},
		{"message", message, "data:text/html,hi"},
		{"message", message, "see www.evil"},
		{"message", message, "//evil/path"},
		{"message", message, "\\\\evil\\share"},
		{"message", message, "go to [2001:db8::1] now"},
		{"message", message, "go to evil%2Eexample now"},
		{"message", message, "пример.рф is our portal"},
		{"message", message, "go to xn--80ak6aa92e.com"},
		{"message", message, "evil\u200b.example"},
		{"message", message, "reversed \u202eelpmaxe.live"},
		{"message", message, "line\rMAIL FROM:<x@y.example>"},
		{"message", message, "<a href=x>click</a>"},
		{"message", message, "[click](x)"},
		{"message", message, "&#x3c;script&#x3e;"},
		{"message", message, "portal#{{link}}"},
		{"company_name", name, "Northwind - first verify your tenant at https://evil.example/login"},
		{"company_name", name, "Northwind (evil.zip)"},
		{"company_name", name, "Northwind {{link}}"},
		{"company_name", name, "Northwind\nSecond line"},
		{"company_name", name, "Nul\x00Corp"},
		{"role", role, "Helpdesk Administrator (details: https://evil.example/r)"},
		{"role", role, "Helpdesk Administrator see evil.zip"},
		{"reason", reason, "Rejected, re-apply at apply.evil.example"},
		{"reason", reason, "see 10.0.0.1/admin"},
		{"reason", reason, "we send {{link}} anyway"},
	}
	for _, a := range attempts {
		var f fieldErrors
		a.check(&f, a.text)
		if len(f) == 0 {
			t.Errorf("%s %q accepted", a.field, a.text)
		}
	}
	if len(attempts) < 30 {
		t.Fatalf("only %d attempts", len(attempts))
	}

	legitimate := []struct {
		check check
		text  string
	}{
		{message, "Hello Northwind,\nas agreed please accept here: {{link}}\nThanks, Fabrikam"},
		{message, "Hello Northwind, as agreed please accept here:\n{{link}}"},
		{message, "{{link}}"},
		{message, "Questions? Write to sales@fabrikam.example. We answer within 2 days."},
		{message, "Version 1.2.3 ships at 10:30, e.g. after the call; i.e. next week. U.S. customers too."},
		{message, "Prices are 5 < 7 and 3 > 2; R&D is included. Call +44 20 7946 0000."},
		{message, "Our {internal} code names stay as they are — über gut, 日本語も大丈夫です。"},
		{message, "Ready? Great! See you soon."},
		{name, "Northwind Traders Ltd."},
		{name, "Müller & Söhne GmbH"},
		{name, "A.B.C. Holdings, Inc."},
		{role, "Helpdesk Administrator"},
		{reason, "The domain is not verified yet; please check with the customer."},
		{reason, ""},
	}
	for _, l := range legitimate {
		var f fieldErrors
		l.check(&f, l.text)
		if len(f) != 0 {
			t.Errorf("%q refused: %v", l.text, f)
		}
	}
}

func TestLinkPlaceholderStandsAlone(t *testing.T) {
	for _, m := range []string{"a {{link}} b", "{{link}}\nb", "a\t{{link}}"} {
		var f fieldErrors
		validateMessage(&f, m)
		if len(f) != 0 {
			t.Errorf("%q refused: %v", m, f)
		}
	}
	var f fieldErrors
	validateMessage(&f, "x"+strings.Repeat(" ", 3)+"a{{link}}")
	if len(f) == 0 {
		t.Error("a glued placeholder was accepted")
	}
}
