package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/i18n"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// tenantRequestStore is what the tenant request handlers read and write, with
// what the tenant request check reads (rules.Store).
type tenantRequestStore interface {
	rules.Store
	CustomerDomainTaken(ctx context.Context, domain string) (bool, error)
	DomainHolder(ctx context.Context, partnerID, domain string) (customerID, requestID string, err error)
	ListTenantRequests(ctx context.Context, partnerID, status string, page store.Page) ([]models.CustomerTenantRequest, string, error)
	SetTenantRequestStatus(ctx context.Context, id, status, reason, customerID, relationshipID string) error
	TenantRequest(ctx context.Context, id string) (models.CustomerTenantRequest, error)
}

func tenantRequestView(r models.CustomerTenantRequest) oapi.TenantRequest {
	return oapi.TenantRequest{Id: r.ID, Status: oapi.TenantRequestStatus(r.Status), WorkflowId: r.WorkflowID, ResellerId: r.ResellerID, ProviderId: r.ProviderID,
		CompanyName: r.CompanyName, Domain: r.Domain, ContactEmail: r.ContactEmail, BillTo: billToView(r.BillTo), Locale: oapi.Locale(r.Locale), TenantId: r.TenantID,
		CustomerId: valueOf(r.CustomerID), RelationshipId: valueOf(r.RelationshipID), Reason: r.Reason, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt}
}

// CreateTenantRequest: a reseller asks its provider to create a customer tenant.
func (s *Server) CreateTenantRequest(ctx context.Context, request oapi.CreateTenantRequestRequestObject) (oapi.CreateTenantRequestResponseObject, error) {
	me, req := currentPartner(ctx), request.Body
	if me.Type != models.PartnerTypeReseller {
		return nil, problem(http.StatusForbidden, CodeForbidden, "only a reseller asks its provider for a customer tenant")
	}
	r, err := create(ctx, s, createRequest{me.ID, request.Params.IdempotencyKey, "create-tenant-request", req}, models.TenantRequestLifecycle, s.store.TenantRequest,
		func(id string, now time.Time) (models.CustomerTenantRequest, func(models.CustomerTenantRequest) startPlan, error) {
			return s.newTenantRequest(ctx, me, req, id, now)
		})
	if errors.Is(err, store.ErrConflict) {
		return nil, s.domainUnavailable(ctx, req.Domain)
	}
	if err != nil {
		return nil, err
	}
	return oapi.CreateTenantRequest202JSONResponse{Body: tenantRequestView(r),
		Headers: oapi.CreateTenantRequest202ResponseHeaders{Location: "/v1/customer-tenant-requests/" + r.ID}}, nil
}

// newTenantRequest checks a tenant request (its fields, the partnership, the
// domain) and builds its row, started with the provider the rules loaded.
func (s *Server) newTenantRequest(ctx context.Context, me models.Partner, req *oapi.CreateTenantRequestJSONRequestBody, id string, now time.Time) (
	r models.CustomerTenantRequest, plan func(models.CustomerTenantRequest) startPlan, err error) {
	billTo := billToModel(req.BillTo)
	var f fieldErrors
	if strings.TrimSpace(req.ProviderId) == "" {
		f.add("provider_id", "is required")
	}
	f.requireName("company_name", req.CompanyName, 200)
	validateDomain(&f, "domain", req.Domain)
	f.requireEmail("contact_email", req.ContactEmail)
	validateBillTo(&f, billTo)
	if err := f.err(); err != nil {
		return r, nil, err
	}
	parties, err := rules.CheckTenantRequest(ctx, s.store, rules.TenantRequest{ResellerID: me.ID, ProviderID: req.ProviderId})
	if err != nil {
		return r, nil, err
	}
	if taken, err := s.store.CustomerDomainTaken(ctx, req.Domain); err != nil || taken {
		if taken {
			err = s.domainUnavailable(ctx, req.Domain)
		}
		return r, nil, err
	}
	provider := parties.Provider
	r = models.CustomerTenantRequest{ID: id, ResellerID: me.ID, ProviderID: provider.ID, CompanyName: strings.TrimSpace(req.CompanyName),
		Domain: req.Domain, ContactEmail: req.ContactEmail, BillTo: billTo, Locale: i18n.Choose(string(req.Locale), me.Locale), Status: models.TenantRequestWaitingForProvider,
		WorkflowID: workflows.TenantRequestWorkflowID(id), ExpiresAt: now.Add(s.cfg.Timing.TenantRequestExpiry), CreatedAt: now, UpdatedAt: now}
	return r, func(r models.CustomerTenantRequest) startPlan { return s.tenantRequestPlanOf(r, me, provider) }, nil
}

// tenantRequestPlan plans a tenant request's start from its row.
func (s *Server) tenantRequestPlan(ctx context.Context, r models.CustomerTenantRequest) (startPlan, error) {
	reseller, provider, err := s.partners(ctx, r.ResellerID, r.ProviderID)
	if err != nil {
		return startPlan{}, err
	}
	return s.tenantRequestPlanOf(r, reseller, provider), nil
}

func (s *Server) tenantRequestPlanOf(r models.CustomerTenantRequest, reseller, provider models.Partner) startPlan {
	return startPlan{kind: workflows.KindTenantRequest, subjectID: r.ID,
		opts: startOptions(s.cfg.TemporalTaskQueue, r.WorkflowID, "Tenant request for "+r.CompanyName+" ("+r.Domain+")",
			workflows.SearchKind.ValueSet(workflows.KindTenantRequest), workflows.SearchStatus.ValueSet(models.TenantRequestWaitingForProvider),
			workflows.SearchReseller.ValueSet(reseller.ID), workflows.SearchProvider.ValueSet(provider.ID)),
		workflow: workflows.TenantRequestWorkflow,
		input: workflows.TenantRequestInput{
			RequestID: r.ID, Reseller: party(reseller), Provider: party(provider),
			CompanyName: r.CompanyName, Domain: r.Domain, Locale: r.Locale,
			Reminders: s.cfg.Timing.TenantRequestRemind, ExpireAfter: r.ExpiresAt.Sub(r.CreatedAt),
		},
		abandon: func(ctx context.Context, reason string) error {
			if err := s.store.SetTenantRequestStatus(ctx, r.ID, models.TenantRequestFailed, reason, "", ""); err != nil {
				return err
			}
			return s.startFailed(ctx, r.ID, reason)
		},
	}
}

// domainUnavailable answers a domain already held. A domain is unique
// across partners (one tenant per domain), but who holds it is told only to
// a partner that may know: its own customer or its own waiting request.
// Anyone else gets the same neutral answer whether a customer of another
// partner or another reseller's request holds it.
func (s *Server) domainUnavailable(ctx context.Context, domain string) error {
	customerID, requestID, err := s.store.DomainHolder(ctx, currentPartner(ctx).ID, domain)
	switch {
	case err != nil:
		return err
	case customerID != "":
		return problem(http.StatusConflict, CodeConflict, "the domain "+domain+" is already registered to your customer "+customerID+" (GET /v1/customers/"+customerID+")")
	case requestID != "":
		return problem(http.StatusConflict, CodeConflict, "your tenant request "+requestID+" for "+domain+" already waits for its provider")
	}
	return problem(http.StatusConflict, CodeConflict, "the domain "+domain+" cannot be registered here; if the customer owns it, CSP operations can help")
}

func (s *Server) visibleTenantRequest(ctx context.Context, id string) (models.CustomerTenantRequest, error) {
	return partyTo(ctx, id, "customer tenant request", s.store.TenantRequest, func(r models.CustomerTenantRequest) (string, string) { return r.ResellerID, r.ProviderID })
}

func (s *Server) GetTenantRequest(ctx context.Context, request oapi.GetTenantRequestRequestObject) (oapi.GetTenantRequestResponseObject, error) {
	r, err := s.visibleTenantRequest(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	out := tenantRequestView(r)
	if out.Events, err = s.timeline(ctx, r.ID, r.ResellerID); err != nil {
		return nil, err
	}
	return oapi.GetTenantRequest200JSONResponse{TenantRequestBodyJSONResponse: oapi.TenantRequestBodyJSONResponse(out)}, nil
}

func (s *Server) ListTenantRequests(ctx context.Context, request oapi.ListTenantRequestsRequestObject) (oapi.ListTenantRequestsResponseObject, error) {
	p := request.Params
	items, next, err := listByStatus(ctx, string(p.Status), p.Limit, p.Cursor, models.TenantRequestLifecycle, s.store.ListTenantRequests)
	if err != nil {
		return nil, err
	}
	return oapi.ListTenantRequests200JSONResponse{Items: views(items, tenantRequestView), NextCursor: next}, nil
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ApproveTenantRequest: the provider created the tenant (its GUID is optional).
func (s *Server) ApproveTenantRequest(ctx context.Context, request oapi.ApproveTenantRequestRequestObject) (oapi.ApproveTenantRequestResponseObject, error) {
	tenantID := request.Body.TenantId
	if tenantID != "" && !guidPattern.MatchString(tenantID) {
		return nil, validationProblem([]FieldError{{Field: "tenant_id", Message: "must be the tenant's GUID, such as 0f8fad5b-d9cb-469f-a165-70867728950e"}})
	}
	r, err := s.decideTenantRequest(ctx, request.Id, workflows.UpdateApprove, workflows.TenantApproval{TenantID: strings.ToLower(tenantID)})
	if err != nil {
		return nil, err
	}
	return oapi.ApproveTenantRequest200JSONResponse{TenantRequestBodyJSONResponse: oapi.TenantRequestBodyJSONResponse(r)}, nil
}

// RejectTenantRequest: the provider refuses, saying why.
func (s *Server) RejectTenantRequest(ctx context.Context, request oapi.RejectTenantRequestRequestObject) (oapi.RejectTenantRequestResponseObject, error) {
	reason := request.Body.Reason
	if err := checkReason(reason, 1000, true); err != nil {
		return nil, err
	}
	r, err := s.decideTenantRequest(ctx, request.Id, workflows.UpdateReject, workflows.Answer{Reason: reason})
	if err != nil {
		return nil, err
	}
	return oapi.RejectTenantRequest200JSONResponse{TenantRequestBodyJSONResponse: oapi.TenantRequestBodyJSONResponse(r)}, nil
}

// decideTenantRequest passes the provider's decision to the request's workflow.
func (s *Server) decideTenantRequest(ctx context.Context, id, update string, decision any) (oapi.TenantRequest, error) {
	r, err := s.visibleTenantRequest(ctx, id)
	if err != nil {
		return oapi.TenantRequest{}, err
	}
	if r.ProviderID != currentPartner(ctx).ID {
		return oapi.TenantRequest{}, problem(http.StatusForbidden, CodeForbidden, "only the provider asked creates or rejects the tenant")
	}
	var status string
	if err := s.update(ctx, r.WorkflowID, update, &status, decision); err != nil {
		return oapi.TenantRequest{}, err
	}
	r.Status = status
	return tenantRequestView(r), nil
}
