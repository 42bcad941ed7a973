package rules

import (
	"testing"

	"github.com/csp-onboarding/onboarding/models"
)

func TestCheckContact(t *testing.T) {
	reseller := models.Partner{Name: "Fabrikam", ContactEmail: "sales@fabrikam.example"}
	provider := models.Partner{Name: "Contoso Distribution", ContactEmail: "partners@contoso-dist.example"}
	for _, c := range []struct {
		contact Contact
		ok      bool
	}{
		{Contact{Email: "admin@northwind.example"}, true},
		{Contact{Email: "admin@fabrikam.example"}, false},
		{Contact{Email: "Admin@EU.Fabrikam.Example"}, false},
		{Contact{Email: "admin@contoso-dist.example"}, false},
		{Contact{Email: "admin@notfabrikam.example"}, true},
		{Contact{Email: "admin@fabrikam.example", Reason: "hosted by the reseller"}, true},
		{Contact{Email: "admin@fabrikam.example", Reason: "   "}, false},
		{Contact{Email: "it@woodgrove.example", CustomerDomain: "woodgrove.example"}, true},
		{Contact{Email: "it@mail.woodgrove.example", CustomerDomain: "Woodgrove.example."}, true},
		{Contact{Email: "it@woodgrove.example.evil", CustomerDomain: "woodgrove.example"}, false},
		{Contact{Email: "it@badwoodgrove.example", CustomerDomain: "woodgrove.example"}, false},
		{Contact{Email: "it@gmail.example", CustomerDomain: "woodgrove.example", Reason: "a sole trader"}, true},
	} {
		err := CheckContact(c.contact, reseller, provider)
		if (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.contact, err)
		}
		if v, isViolation := AsViolation(err); err != nil && (!isViolation || v.Code != ContactEmailNotCustomers) {
			t.Errorf("%+v: not the rule's code: %v", c.contact, err)
		}
	}
}
