package models

import (
	"fmt"
	"strings"

	"github.com/csp-onboarding/onboarding/i18n"
)

// ConsentText is the exact text a customer is shown before consenting to a
// relationship extension, in the customer's language. The page renders it and
// the consent record stores it, from the same function and locale, so the
// evidence says what the customer saw.
func ConsentText(locale, resellerName, providerName, customerName string, b BillTo) string {
	z := i18n.For(locale)
	names := map[string]any{"Reseller": resellerName, "Provider": providerName, "Company": customerName}
	var s strings.Builder
	s.WriteString(z.MustT("consent_text_intro", names) + "\n")
	s.WriteString(z.MustT("consent_text_extend", names) + "\n")
	s.WriteString(z.MustT("consent_text_share", names) + "\n")
	for _, line := range []struct{ label, value string }{
		{"billto_company", b.CompanyName}, {"billto_address", strings.TrimSpace(b.AddressLine1 + " " + b.AddressLine2)},
		{"billto_city", b.City}, {"billto_postal_code", b.PostalCode}, {"billto_country", b.Country}, {"billto_email", b.Email}, {"billto_phone", b.Phone},
	} {
		fmt.Fprintf(&s, "- %s: %s\n", z.MustT(line.label, nil), line.value)
	}
	s.WriteString(z.MustT("consent_text_no_admin", names))
	return s.String()
}
