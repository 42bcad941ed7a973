package api

import (
	"regexp"
	"strings"

	"github.com/csp-onboarding/onboarding/models"
)

// isoCountries are the ISO 3166-1 alpha-2 codes.
var isoCountries = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
		CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
		GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
		KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
		MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
		SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
		UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`) {
		m[c] = true
	}
	return m
}()

var (
	domainLabel   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	phonePattern  = regexp.MustCompile(`^\+?[0-9 ().\-]{7,24}$`)
	postalPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 \-]{0,15}$`)
)

func validDomain(d string) bool {
	if len(d) > 253 || d != strings.ToLower(d) {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !domainLabel.MatchString(l) {
			return false
		}
	}
	tld := labels[len(labels)-1]
	return len(tld) >= 2 && strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") == ""
}

func validateDomain(f *fieldErrors, field, d string) {
	if strings.TrimSpace(d) == "" {
		f.add(field, "is required")
	} else if !validDomain(d) {
		f.add(field, "must be a lower-case domain name such as contoso.com")
	}
}

// validateBillTo checks every part of a bill-to address.
func validateBillTo(f *fieldErrors, b *models.BillTo) {
	if b == nil {
		f.add("bill_to", "is required: company_name, address_line1, city, postal_code, country, email, phone")
		return
	}
	f.requireName("bill_to.company_name", b.CompanyName, 200)
	f.requireName("bill_to.address_line1", b.AddressLine1, 200)
	if b.AddressLine2 != "" {
		f.requireName("bill_to.address_line2", b.AddressLine2, 200)
	}
	f.requireName("bill_to.city", b.City, 100)
	if !postalPattern.MatchString(b.PostalCode) {
		f.add("bill_to.postal_code", "must be a postal code of letters, digits, spaces or dashes (at most 16)")
	}
	if !isoCountries[b.Country] {
		f.add("bill_to.country", "must be an ISO 3166-1 alpha-2 country code in capitals, such as US or DE")
	}
	f.requireEmail("bill_to.email", b.Email)
	digits := 0
	for _, r := range b.Phone {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if !phonePattern.MatchString(b.Phone) || digits < 7 || digits > 15 {
		f.add("bill_to.phone", "must be a phone number with 7 to 15 digits, such as +1 425 555 0100")
	}
}
