package models

import "strings"

// SignedInAccount is an account that signed in with Microsoft before
// answering a link (MICROSOFT_MODE live or simulated): the ID token's tid,
// oid, name and preferred_username. It travels in the Accept or consent
// update and ends on the timeline and the consent record.
type SignedInAccount struct {
	TenantID string `json:"tenant_id"`
	ObjectID string `json:"object_id"`
	Name     string `json:"name"`
	UPN      string `json:"upn"`
}

// EmailDomain is the lower-cased domain of an address ("" when it has none).
func EmailDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(addr[at+1:]), "."))
}
