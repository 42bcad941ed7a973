package partnercenter

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// DefaultAdminCenterURL is the Microsoft 365 admin center, where a
// customer's Global Administrator accepts a reseller relationship; the
// simulator's stand-in replaces it (MICROSOFT_ADMIN_CENTER_URL).
const DefaultAdminCenterURL = "https://admin.microsoft.com"

// ResellerRelationshipLink is the link an indirect reseller sends a
// customer to accept a reseller relationship with it and its indirect
// provider: the one Partner Center's Customers → "Request a reseller
// relationship" writes into its draft e-mail for an indirect reseller, of
// the form
//
//	https://admin.microsoft.com/Adminportal/Home?invType=IndirectResellerRelationship
//	  &partnerId={reseller tenant id}&msppId=0&indirectCSPId={provider tenant id}
//	  #/BillingAccounts/partner-invitation
//
// (https://learn.microsoft.com/en-us/partner-center/customers/request-a-relationship-with-a-customer).
// Partner Center's API gives the same link to a direct-bill partner
// (GET /v1/customers/relationshiprequests?indirectResellerId=…,
// https://learn.microsoft.com/en-us/rest/api/partner-center/manage-customer-accounts/get-relationship-request-link),
// but only with App+User credentials; the link depends on nothing but the
// two tenant ids, so it is built here. msppId is the optional Microsoft
// Partner ID of a managed-services partner: none (0). No DAP parameter:
// admin access is asked for separately, through GDAP.
func ResellerRelationshipLink(adminCenterURL, resellerTenantID, providerTenantID string) string {
	base := strings.TrimRight(adminCenterURL, "/")
	if base == "" {
		base = DefaultAdminCenterURL
	}
	q := url.Values{}
	q.Set("invType", "IndirectResellerRelationship")
	q.Set("partnerId", resellerTenantID)
	q.Set("msppId", "0")
	q.Set("indirectCSPId", providerTenantID)
	// Encode sorts by key; Microsoft's links list invType first, which no
	// reader depends on.
	return base + "/Adminportal/Home?" + q.Encode() + "#/BillingAccounts/partner-invitation"
}

// ParseResellerRelationshipLink reads the two tenant ids back from a link
// ResellerRelationshipLink built.
func ParseResellerRelationshipLink(link string) (resellerTenantID, providerTenantID string, ok bool) {
	u, err := url.Parse(link)
	if link == "" || err != nil {
		return "", "", false
	}
	q := u.Query()
	if q.Get("invType") != "IndirectResellerRelationship" || q.Get("partnerId") == "" || q.Get("indirectCSPId") == "" {
		return "", "", false
	}
	return q.Get("partnerId"), q.Get("indirectCSPId"), true
}

// Relationship types of a PartnerRelationship.
// https://learn.microsoft.com/en-us/partner-center/developer/relationships-resources
const (
	RelationshipIsIndirectResellerOf              = "IsIndirectResellerOf"
	RelationshipIsIndirectCloudSolutionProviderOf = "IsIndirectCloudSolutionProviderOf"
)

// PartnerRelationship is one partner of a customer, as the signed-in
// partner sees it ("PartnerRelationship": id is that partner's tenant id).
// https://learn.microsoft.com/en-us/partner-center/developer/relationships-resources
type PartnerRelationship struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	RelationshipType string `json:"relationshipType"`
	State            string `json:"state"`
	MpnID            string `json:"mpnId"`
	Location         string `json:"location"`
}

// CustomerPartners lists the indirect resellers (to a provider) or indirect
// providers (to a reseller) related to a customer: "Get partners of a
// customer", GET /v1/customers/{customer-tenant-id}/relationships. A
// customer that is not (yet) the caller's customer is answered 404 by
// Partner Center: that is no partners, not an error.
// https://learn.microsoft.com/en-us/partner-center/developer/get-indirect-resellers-of-a-customer
func (c *Client) CustomerPartners(ctx context.Context, customerTenantID string) ([]PartnerRelationship, error) {
	var out struct {
		TotalCount int                   `json:"totalCount"`
		Items      []PartnerRelationship `json:"items"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/customers/"+url.PathEscape(customerTenantID)+"/relationships", nil, &out)
	var pe *Error
	if errors.As(err, &pe) && pe.Status == http.StatusNotFound {
		return nil, nil
	}
	return out.Items, err
}

// HasActivePartner tells whether the list holds the partner (by tenant id)
// in an active relationship; a relationship without a state is taken as
// active, since Partner Center lists only established ones.
func HasActivePartner(list []PartnerRelationship, partnerTenantID string) bool {
	for _, r := range list {
		if strings.EqualFold(r.ID, partnerTenantID) && (r.State == "" || strings.EqualFold(r.State, "active")) {
			return true
		}
	}
	return false
}
