package rules

import (
	"strings"

	"github.com/csp-onboarding/onboarding/models"
)

// Contact is the address a customer's e-mails go to, and the one whose
// holder accepts and consents for the customer (audit §4: a reseller could
// name its own mailbox and answer for its customer).
type Contact struct {
	Email string
	// CustomerDomain is the registered customer's domain; empty for a
	// customer known only by its address.
	CustomerDomain string
	// Reason is the reseller's statement of why an address that breaks the
	// rule is the customer's anyway; it lets the address through and is
	// recorded by the caller.
	Reason string
}

// CheckContact refuses a contact address on the e-mail domain of one of the
// partners (the reseller, the provider) or, for a registered customer, off
// the customer's domain and its subdomains, unless a reason is given.
func CheckContact(c Contact, partners ...models.Partner) error {
	if strings.TrimSpace(c.Reason) != "" {
		return nil
	}
	domain := models.EmailDomain(c.Email)
	for _, p := range partners {
		if pd := models.EmailDomain(p.ContactEmail); pd != "" && onDomain(domain, pd) {
			return &Violation{ContactEmailNotCustomers, "the contact address " + c.Email + " is on the e-mail domain of " + p.Name +
				"; its holder would accept for the customer. Give the customer's own address, or state why this one is theirs in contact_email_reason"}
		}
	}
	if cd := strings.ToLower(strings.TrimSuffix(c.CustomerDomain, ".")); cd != "" && !onDomain(domain, cd) {
		return &Violation{ContactEmailNotCustomers, "the contact address " + c.Email + " is not on the customer's domain " + cd +
			"; give an address on it, or state why this one is the customer's in contact_email_reason"}
	}
	return nil
}

// onDomain tells whether d is base or one of its subdomains.
func onDomain(d, base string) bool {
	return d == base || strings.HasSuffix(d, "."+base)
}
