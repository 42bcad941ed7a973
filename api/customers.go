package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
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
	BillTo           *models.BillTo         `json:"bill_to,omitempty"`
	BillToSharedAt   *time.Time             `json:"bill_to_shared_at,omitempty"`
	Relationships    []relationshipResponse `json:"relationships"`
	Pending          []pendingOnboarding    `json:"pending"`
	OrderEligibility []rules.Eligibility    `json:"order_eligibility"`
}

// pendingOnboarding is an onboarding still waiting on the customer.
type pendingOnboarding struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expires_at"`
}

type createCustomerRequest struct {
	CompanyName  string         `json:"company_name"`
	Domain       string         `json:"domain"`
	ContactEmail string         `json:"contact_email"`
	BillTo       *models.BillTo `json:"bill_to"`
}

// createCustomer registers one of a direct-bill reseller's existing customers.
func (s *Server) createCustomer(c echo.Context) error {
	me := currentPartner(c)
	if me.Type != models.PartnerTypeReseller || !me.DirectBill {
		return problem(http.StatusUnprocessableEntity, CodeNotDirectBillPartner, "only a direct-bill reseller registers its existing direct-bill customers")
	}
	var req createCustomerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var f fieldErrors
	f.requireText("company_name", req.CompanyName, 200)
	validateDomain(&f, "domain", req.Domain)
	f.requireEmail("contact_email", req.ContactEmail)
	validateBillTo(&f, req.BillTo)
	if err := f.err(); err != nil {
		return err
	}
	now := time.Now().UTC()
	cust := models.Customer{ID: newID(), CompanyName: strings.TrimSpace(req.CompanyName), Domain: req.Domain, ContactEmail: req.ContactEmail,
		AcquiredVia: models.AcquiredViaDirectBill, CreatedBy: me.ID, BillTo: req.BillTo, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateCustomer(c.Request().Context(), &cust, models.PartnerTypeReseller); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return problem(http.StatusConflict, CodeConflict, "the domain "+req.Domain+" is already registered to a customer")
		}
		return err
	}
	out := customerDetail{customerResponse: toCustomerResponse(cust), BillTo: cust.BillTo, Relationships: []relationshipResponse{}, Pending: []pendingOnboarding{}}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/customers/"+cust.ID)
	return c.JSON(http.StatusCreated, out)
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

// getCustomer is the customer summary: its relationships with the caller,
// the onboardings still waiting on it, its order eligibility, and its bill-to
// info for its own reseller or, through a consented share, for a provider.
func (s *Server) getCustomer(c echo.Context) error {
	ctx := c.Request().Context()
	me := currentPartner(c)
	cust, err := s.visibleCustomer(c, me)
	if err != nil {
		return err
	}
	rels, _, err := s.store.ListRelationships(ctx, me.ID, store.RelationshipFilter{CustomerID: cust.ID}, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	out := customerDetail{customerResponse: toCustomerResponse(cust), Relationships: make([]relationshipResponse, 0, len(rels)), Pending: []pendingOnboarding{}}
	for _, r := range rels {
		out.Relationships = append(out.Relationships, toRelationshipResponse(r))
	}
	if cust.CreatedBy == me.ID {
		out.BillTo = cust.BillTo
	} else if share, err := s.store.BillToShare(ctx, cust.ID, me.ID); err == nil {
		out.BillTo, out.BillToSharedAt = share.Snapshot, &share.CreatedAt
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	invs, err := s.store.PendingInvitationsForCustomer(ctx, me.ID, cust.ID)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		out.Pending = append(out.Pending, pendingOnboarding{Kind: "invitation", ID: inv.ID, Status: inv.Status, ExpiresAt: inv.ExpiresAt})
	}
	exts, err := s.store.PendingExtensionsForCustomer(ctx, me.ID, cust.ID)
	if err != nil {
		return err
	}
	for _, x := range exts {
		out.Pending = append(out.Pending, pendingOnboarding{Kind: "relationship_extension", ID: x.ID, Status: x.Status, ExpiresAt: x.ExpiresAt})
	}
	if out.OrderEligibility, err = rules.OrderEligibility(ctx, s.store, cust, me); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// getOrderEligibility answers R7 and R8 for one customer.
func (s *Server) getOrderEligibility(c echo.Context) error {
	me := currentPartner(c)
	cust, err := s.visibleCustomer(c, me)
	if err != nil {
		return err
	}
	items, err := rules.OrderEligibility(c.Request().Context(), s.store, cust, me)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"customer_id": cust.ID, "acquired_via": cust.AcquiredVia, "order_eligibility": items})
}

func (s *Server) visibleCustomer(c echo.Context, me models.Partner) (models.Customer, error) {
	cust, err := s.store.CustomerOfPartner(c.Request().Context(), me.ID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return cust, notFoundProblem("customer")
	}
	return cust, err
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
