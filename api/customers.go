package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
)

// customerStore is what the customer and relationship-list handlers read and
// write, with what the order eligibility rules read.
type customerStore interface {
	rules.Store
	BillToShare(ctx context.Context, customerID, providerID string) (models.BillToShare, error)
	CreateCustomer(ctx context.Context, c *models.Customer, role string) error
	CustomerOfPartner(ctx context.Context, partnerID, customerID string) (models.Customer, error)
	CustomerRelationships(ctx context.Context, partnerID, customerID string, statuses ...string) ([]models.Relationship, error)
	ListCustomers(ctx context.Context, partnerID, acquiredVia string, page store.Page) ([]models.Customer, string, error)
	ListRelationships(ctx context.Context, partnerID string, f store.RelationshipFilter, page store.Page) ([]models.Relationship, string, error)
	PendingExtensionsForCustomer(ctx context.Context, partnerID, customerID string) ([]models.RelationshipExtension, error)
	PendingInvitationsForCustomer(ctx context.Context, partnerID, customerID string) ([]models.Invitation, error)
}

func customerView(c models.Customer) oapi.Customer {
	return oapi.Customer{Id: c.ID, CompanyName: c.CompanyName, Domain: c.Domain, ContactEmail: c.ContactEmail, TenantId: c.TenantID,
		AcquiredVia: oapi.CustomerAcquiredVia(c.AcquiredVia), CreatedAt: c.CreatedAt}
}

func customerDetailView(c models.Customer) oapi.CustomerDetail {
	return oapi.CustomerDetail{Id: c.ID, CompanyName: c.CompanyName, Domain: c.Domain, ContactEmail: c.ContactEmail, ContactEmailReason: c.ContactEmailReason, TenantId: c.TenantID,
		AcquiredVia: oapi.CustomerDetailAcquiredVia(c.AcquiredVia), CreatedAt: c.CreatedAt,
		Relationships: []oapi.Relationship{}, Pending: []oapi.PendingOnboarding{}, OrderEligibility: []oapi.Eligibility{}}
}

func relationshipView(r models.Relationship) oapi.Relationship {
	return oapi.Relationship{Id: r.ID, CustomerId: r.CustomerID, CustomerTenantId: r.CustomerTenantID, ProviderId: r.ProviderID, ResellerId: r.ResellerID,
		Source: oapi.RelationshipSource(r.Source), SourceId: r.SourceID, DelegatedAdmin: r.DelegatedAdmin,
		Status: oapi.RelationshipStatus(r.Status), CreatedAt: r.CreatedAt}
}

func eligibilityView(e rules.Eligibility) oapi.Eligibility {
	return oapi.Eligibility{PartnerId: e.PartnerID, Role: e.Role, CanOrder: e.CanOrder, CanTransfer: e.CanTransfer,
		Reasons: views(e.Reasons, func(r string) oapi.EligibilityReasons { return oapi.EligibilityReasons(r) })}
}

func billToView(b *models.BillTo) oapi.BillTo {
	if b == nil {
		return oapi.BillTo{}
	}
	return oapi.BillTo{CompanyName: b.CompanyName, AddressLine1: b.AddressLine1, AddressLine2: b.AddressLine2, City: b.City,
		PostalCode: b.PostalCode, Country: b.Country, Email: b.Email, Phone: b.Phone}
}

func billToModel(b oapi.BillTo) *models.BillTo {
	return &models.BillTo{CompanyName: b.CompanyName, AddressLine1: b.AddressLine1, AddressLine2: b.AddressLine2, City: b.City,
		PostalCode: b.PostalCode, Country: b.Country, Email: b.Email, Phone: b.Phone}
}

// CreateCustomer registers one of a direct-bill reseller's existing customers.
func (s *Server) CreateCustomer(ctx context.Context, request oapi.CreateCustomerRequestObject) (oapi.CreateCustomerResponseObject, error) {
	me := currentPartner(ctx)
	if me.Type != models.PartnerTypeReseller || !me.DirectBill {
		return nil, problem(http.StatusUnprocessableEntity, CodeNotDirectBillPartner, "only a direct-bill reseller registers its existing direct-bill customers")
	}
	req := request.Body
	billTo := billToModel(req.BillTo)
	var f fieldErrors
	f.requireName("company_name", req.CompanyName, 200)
	validateDomain(&f, "domain", req.Domain)
	f.requireEmail("contact_email", req.ContactEmail)
	validateBillTo(&f, billTo)
	if err := f.err(); err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(req.ContactEmailReason)
	if err := rules.CheckContact(rules.Contact{Email: req.ContactEmail, CustomerDomain: req.Domain, Reason: reason}, me); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	cust := models.Customer{ID: newID(), CompanyName: strings.TrimSpace(req.CompanyName), Domain: req.Domain, ContactEmail: req.ContactEmail, ContactEmailReason: reason,
		AcquiredVia: models.AcquiredViaDirectBill, CreatedBy: me.ID, BillTo: billTo, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateCustomer(ctx, &cust, models.PartnerTypeReseller); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, s.domainUnavailable(ctx, req.Domain)
		}
		return nil, err
	}
	out := customerDetailView(cust)
	out.BillTo = billToView(cust.BillTo)
	return oapi.CreateCustomer201JSONResponse{Body: out, Headers: oapi.CreateCustomer201ResponseHeaders{Location: "/v1/customers/" + cust.ID}}, nil
}

func (s *Server) ListCustomers(ctx context.Context, request oapi.ListCustomersRequestObject) (oapi.ListCustomersResponseObject, error) {
	p := request.Params
	pg, err := pageOf(p.Limit, p.Cursor)
	if err != nil {
		return nil, err
	}
	cs, next, err := s.store.ListCustomers(ctx, currentPartner(ctx).ID, string(p.AcquiredVia), pg)
	if err != nil {
		return nil, err
	}
	return oapi.ListCustomers200JSONResponse{Items: views(cs, customerView), NextCursor: next}, nil
}

// GetCustomer is the customer summary: its relationships with the caller,
// the onboardings still waiting on it, its order eligibility, and its bill-to
// info for its own reseller or, through a consented share, for a provider.
func (s *Server) GetCustomer(ctx context.Context, request oapi.GetCustomerRequestObject) (oapi.GetCustomerResponseObject, error) {
	me := currentPartner(ctx)
	cust, err := s.visibleCustomer(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	rels, err := s.store.CustomerRelationships(ctx, me.ID, cust.ID)
	if err != nil {
		return nil, err
	}
	out := customerDetailView(cust)
	out.Relationships = views(rels, relationshipView)
	if cust.CreatedBy == me.ID {
		out.BillTo = billToView(cust.BillTo)
	} else if share, err := s.store.BillToShare(ctx, cust.ID, me.ID); err == nil {
		out.BillTo, out.BillToSharedAt = billToView(share.Snapshot), share.CreatedAt
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if out.Pending, err = s.pendingOnboardings(ctx, me.ID, cust.ID); err != nil {
		return nil, err
	}
	eligibility, err := rules.OrderEligibility(ctx, s.store, cust, me)
	if err != nil {
		return nil, err
	}
	out.OrderEligibility = views(eligibility, eligibilityView)
	return oapi.GetCustomer200JSONResponse{CustomerBodyJSONResponse: oapi.CustomerBodyJSONResponse(out)}, nil
}

// pendingOnboardings are the partner's invitations and extensions still
// waiting on the customer.
func (s *Server) pendingOnboardings(ctx context.Context, partnerID, customerID string) ([]oapi.PendingOnboarding, error) {
	out := []oapi.PendingOnboarding{} // an empty list, never null
	invs, err := s.store.PendingInvitationsForCustomer(ctx, partnerID, customerID)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		out = append(out, oapi.PendingOnboarding{Kind: "invitation", Id: inv.ID, Status: inv.Status, ExpiresAt: inv.ExpiresAt})
	}
	exts, err := s.store.PendingExtensionsForCustomer(ctx, partnerID, customerID)
	if err != nil {
		return nil, err
	}
	for _, x := range exts {
		out = append(out, oapi.PendingOnboarding{Kind: "relationship_extension", Id: x.ID, Status: x.Status, ExpiresAt: x.ExpiresAt})
	}
	return out, nil
}

// GetOrderEligibility answers R7 and R8 for one customer.
func (s *Server) GetOrderEligibility(ctx context.Context, request oapi.GetOrderEligibilityRequestObject) (oapi.GetOrderEligibilityResponseObject, error) {
	cust, err := s.visibleCustomer(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	items, err := rules.OrderEligibility(ctx, s.store, cust, currentPartner(ctx))
	if err != nil {
		return nil, err
	}
	return oapi.GetOrderEligibility200JSONResponse{CustomerId: cust.ID, AcquiredVia: cust.AcquiredVia, OrderEligibility: views(items, eligibilityView)}, nil
}

func (s *Server) visibleCustomer(ctx context.Context, id string) (models.Customer, error) {
	cust, err := s.store.CustomerOfPartner(ctx, currentPartner(ctx).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return cust, notFoundProblem("customer")
	}
	return cust, err
}

func (s *Server) ListRelationships(ctx context.Context, request oapi.ListRelationshipsRequestObject) (oapi.ListRelationshipsResponseObject, error) {
	p := request.Params
	pg, err := pageOf(p.Limit, p.Cursor)
	if err != nil {
		return nil, err
	}
	status, err := statusFilter(string(p.Status), models.RelationshipLifecycle.Statuses...)
	if err != nil {
		return nil, err
	}
	rels, next, err := s.store.ListRelationships(ctx, currentPartner(ctx).ID, store.RelationshipFilter{CustomerID: p.CustomerId, Status: status}, pg)
	if err != nil {
		return nil, err
	}
	return oapi.ListRelationships200JSONResponse{Items: views(rels, relationshipView), NextCursor: next}, nil
}
