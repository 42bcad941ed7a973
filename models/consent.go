package models

import (
	"fmt"
	"strings"
)

// ConsentText is the exact text a customer is shown before consenting to a
// relationship extension. The page renders it and the consent record stores
// it, from the same function, so the evidence says what the customer saw.
func ConsentText(resellerName, providerName, customerName string, b BillTo) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s asks for your consent on behalf of %s.\n", resellerName, customerName)
	fmt.Fprintf(&s, "%s will extend its Cloud Solution Provider reseller relationship with you to its indirect provider %s.\n", resellerName, providerName)
	fmt.Fprintf(&s, "A copy of your bill-to information is shared with %s:\n", providerName)
	for _, line := range []struct{ label, value string }{
		{"Company", b.CompanyName}, {"Address", strings.TrimSpace(b.AddressLine1 + " " + b.AddressLine2)},
		{"City", b.City}, {"Postal code", b.PostalCode}, {"Country", b.Country}, {"E-mail", b.Email}, {"Phone", b.Phone},
	} {
		fmt.Fprintf(&s, "- %s: %s\n", line.label, line.value)
	}
	fmt.Fprintf(&s, "No admin rights are given to %s or %s by this consent.", resellerName, providerName)
	return s.String()
}
