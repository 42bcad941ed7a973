package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

type customerResponse struct {
	ID           string    `json:"id"`
	CompanyName  string    `json:"company_name"`
	Domain       string    `json:"domain,omitempty"`
	ContactEmail string    `json:"contact_email"`
	AcquiredVia  string    `json:"acquired_via"`
	CreatedAt    time.Time `json:"created_at"`
}

type customerDetail struct {
	customerResponse
	Relationships []relationshipResponse `json:"relationships"`
	Pending       []invitationResponse   `json:"pending"`
}

type relationshipResponse struct {
	ID             string    `json:"id"`
	CustomerID     string    `json:"customer_id"`
	ProviderID     string    `json:"provider_id"`
	ResellerID     string    `json:"reseller_id"`
	Source         string    `json:"source"`
	SourceID       string    `json:"source_id"`
	DelegatedAdmin bool      `json:"delegated_admin"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"created_at"`
}

func toCustomerResponse(c models.Customer) customerResponse {
	return customerResponse{ID: c.ID, CompanyName: c.CompanyName, Domain: c.Domain, ContactEmail: c.ContactEmail,
		AcquiredVia: c.AcquiredVia, CreatedAt: c.CreatedAt}
}

func toRelationshipResponse(r models.Relationship) relationshipResponse {
	return relationshipResponse{ID: r.ID, CustomerID: r.CustomerID, ProviderID: r.ProviderID, ResellerID: r.ResellerID,
		Source: r.Source, SourceID: r.SourceID, DelegatedAdmin: r.DelegatedAdmin, Status: r.Status, CreatedAt: r.CreatedAt}
}

var acquiredVia = []string{models.AcquiredViaDirectBill, models.AcquiredViaInvitation, models.AcquiredViaTenantRequest}

func (s *Server) listCustomers(c echo.Context) error {
	pg, err := page(c)
	if err != nil {
		return err
	}
	via := c.QueryParam("acquired_via")
	if via != "" && !contains(acquiredVia, via) {
		return validationProblem([]FieldError{{Field: "acquired_via", Message: "must be direct_bill, invitation or tenant_request"}})
	}
	cs, next, err := s.store.ListCustomers(c.Request().Context(), currentPartner(c).ID, via, pg)
	if err != nil {
		return err
	}
	out := listResponse[customerResponse]{Items: make([]customerResponse, 0, len(cs)), NextCursor: next}
	for _, cust := range cs {
		out.Items = append(out.Items, toCustomerResponse(cust))
	}
	return c.JSON(http.StatusOK, out)
}

// getCustomer is the customer summary: its relationships with the caller and
// the caller's onboardings still waiting on it.
func (s *Server) getCustomer(c echo.Context) error {
	ctx := c.Request().Context()
	me := currentPartner(c)
	cust, err := s.store.CustomerOfPartner(ctx, me.ID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFoundProblem("customer")
	}
	if err != nil {
		return err
	}
	rels, _, err := s.store.ListRelationships(ctx, me.ID, store.RelationshipFilter{CustomerID: cust.ID}, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	out := customerDetail{customerResponse: toCustomerResponse(cust), Relationships: make([]relationshipResponse, 0, len(rels)), Pending: []invitationResponse{}}
	for _, r := range rels {
		out.Relationships = append(out.Relationships, toRelationshipResponse(r))
	}
	invs, _, err := s.store.ListInvitations(ctx, me.ID, models.InvitationWaitingForCustomer, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if inv.CustomerID != nil && *inv.CustomerID == cust.ID {
			out.Pending = append(out.Pending, toInvitationResponse(inv))
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listRelationships(c echo.Context) error {
	pg, err := page(c)
	if err != nil {
		return err
	}
	status, err := statusFilter(c, models.RelationshipActive, models.RelationshipTerminated)
	if err != nil {
		return err
	}
	f := store.RelationshipFilter{CustomerID: c.QueryParam("customer_id"), Status: status}
	rels, next, err := s.store.ListRelationships(c.Request().Context(), currentPartner(c).ID, f, pg)
	if err != nil {
		return err
	}
	out := listResponse[relationshipResponse]{Items: make([]relationshipResponse, 0, len(rels)), NextCursor: next}
	for _, r := range rels {
		out.Items = append(out.Items, toRelationshipResponse(r))
	}
	return c.JSON(http.StatusOK, out)
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
