package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

type createTenantRequest struct {
	ProviderID   string         `json:"provider_id"`
	CompanyName  string         `json:"company_name"`
	Domain       string         `json:"domain"`
	ContactEmail string         `json:"contact_email"`
	BillTo       *models.BillTo `json:"bill_to"`
}

type tenantRequestResponse struct {
	ID             string           `json:"id"`
	Status         string           `json:"status"`
	WorkflowID     string           `json:"workflow_id"`
	ResellerID     string           `json:"reseller_id"`
	ProviderID     string           `json:"provider_id"`
	CompanyName    string           `json:"company_name"`
	Domain         string           `json:"domain"`
	ContactEmail   string           `json:"contact_email"`
	BillTo         *models.BillTo   `json:"bill_to,omitempty"`
	TenantID       string           `json:"tenant_id,omitempty"`
	CustomerID     *string          `json:"customer_id,omitempty"`
	RelationshipID *string          `json:"relationship_id,omitempty"`
	Reason         string           `json:"reason,omitempty"`
	ExpiresAt      time.Time        `json:"expires_at"`
	CreatedAt      time.Time        `json:"created_at"`
	Events         []map[string]any `json:"events,omitempty"`
}

func toTenantRequestResponse(r models.CustomerTenantRequest) tenantRequestResponse {
	return tenantRequestResponse{ID: r.ID, Status: r.Status, WorkflowID: r.WorkflowID, ResellerID: r.ResellerID, ProviderID: r.ProviderID,
		CompanyName: r.CompanyName, Domain: r.Domain, ContactEmail: r.ContactEmail, BillTo: r.BillTo, TenantID: r.TenantID,
		CustomerID: r.CustomerID, RelationshipID: r.RelationshipID, Reason: r.Reason, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt}
}

// createTenantRequest: a reseller asks its provider to create a customer tenant.
func (s *Server) createTenantRequest(c echo.Context) error {
	ctx := c.Request().Context()
	me := currentPartner(c)
	if me.Type != models.PartnerTypeReseller {
		return problem(http.StatusForbidden, CodeForbidden, "only a reseller asks its provider for a customer tenant")
	}
	var req createTenantRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var f fieldErrors
	if strings.TrimSpace(req.ProviderID) == "" {
		f.add("provider_id", "is required")
	}
	f.requireText("company_name", req.CompanyName, 200)
	validateDomain(&f, "domain", req.Domain)
	f.requireEmail("contact_email", req.ContactEmail)
	validateBillTo(&f, req.BillTo)
	if err := f.err(); err != nil {
		return err
	}
	provider, err := s.store.Partner(ctx, req.ProviderID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && provider.Type != models.PartnerTypeIndirectProvider) {
		return validationProblem([]FieldError{{Field: "provider_id", Message: "is not an indirect provider"}})
	}
	if err != nil {
		return err
	}
	active, err := s.store.PartnershipActive(ctx, provider.ID, me.ID)
	if err != nil {
		return err
	}
	if !active {
		return problem(http.StatusUnprocessableEntity, CodePartnershipNotActive, "you have no active partnership with "+provider.Name+"; only your providers create tenants for you")
	}
	taken, err := s.store.CustomerDomainTaken(ctx, req.Domain)
	if err != nil {
		return err
	}
	if taken {
		return problem(http.StatusConflict, CodeConflict, "the domain "+req.Domain+" is already registered to a customer")
	}
	id, replay, err := s.claim(c, me.ID, "create-tenant-request", req)
	if err != nil {
		return err
	}
	var r models.CustomerTenantRequest
	if replay {
		if r, err = s.store.TenantRequest(ctx, id); err != nil {
			return err
		}
	} else {
		now := time.Now().UTC()
		r = models.CustomerTenantRequest{ID: id, ResellerID: me.ID, ProviderID: provider.ID, CompanyName: strings.TrimSpace(req.CompanyName),
			Domain: req.Domain, ContactEmail: req.ContactEmail, BillTo: req.BillTo, Status: models.TenantRequestWaitingForProvider,
			WorkflowID: workflows.TenantRequestWorkflowID(id), ExpiresAt: now.Add(s.cfg.Timing.TenantRequestExpiry), CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateTenantRequest(ctx, &r); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return problem(http.StatusConflict, CodeConflict, "a tenant request for "+req.Domain+" is already waiting for its provider")
			}
			return err
		}
	}
	opts := startOptions(s.cfg.TemporalTaskQueue, r.WorkflowID, "Tenant request for "+r.CompanyName+" ("+r.Domain+")",
		workflows.SearchKind.ValueSet(workflows.KindTenantRequest), workflows.SearchStatus.ValueSet(models.TenantRequestWaitingForProvider),
		workflows.SearchReseller.ValueSet(me.ID), workflows.SearchProvider.ValueSet(provider.ID))
	abandon := func(ctx context.Context) error {
		if err := s.store.SetTenantRequestStatus(ctx, r.ID, models.TenantRequestFailed, "the request could not be started", "", ""); err != nil {
			return err
		}
		return s.startFailed(ctx, r.ID)
	}
	err = s.start(ctx, opts, workflows.KindTenantRequest, abandon, workflows.TenantRequestWorkflow, workflows.TenantRequestInput{
		RequestID:   r.ID,
		Reseller:    workflows.Party{ID: me.ID, Name: me.Name, Email: me.ContactEmail},
		Provider:    workflows.Party{ID: provider.ID, Name: provider.Name, Email: provider.ContactEmail},
		CompanyName: r.CompanyName, Domain: r.Domain,
		Reminders: s.cfg.Timing.TenantRequestRemind, ExpireAfter: r.ExpiresAt.Sub(r.CreatedAt),
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/customer-tenant-requests/"+r.ID)
	return c.JSON(http.StatusAccepted, toTenantRequestResponse(r))
}

func (s *Server) visibleTenantRequest(c echo.Context) (models.CustomerTenantRequest, error) {
	return partyTo(c, "customer tenant request", s.store.TenantRequest, func(r models.CustomerTenantRequest) (string, string) { return r.ResellerID, r.ProviderID })
}

func (s *Server) getTenantRequest(c echo.Context) error {
	r, err := s.visibleTenantRequest(c)
	if err != nil {
		return err
	}
	out := toTenantRequestResponse(r)
	if out.Events, err = s.timeline(c, r.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

var tenantRequestStatuses = []string{models.TenantRequestWaitingForProvider, workflows.TenantRequestApproved, models.TenantRequestCompleted,
	models.TenantRequestRejected, models.TenantRequestExpired, models.TenantRequestFailed}

type tenantDecision struct {
	TenantID string `json:"tenant_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// decideTenantRequest: the provider approves (with the tenant it created) or rejects.
func (s *Server) decideTenantRequest(c echo.Context) error {
	me := currentPartner(c)
	r, err := s.visibleTenantRequest(c)
	if err != nil {
		return err
	}
	if r.ProviderID != me.ID {
		return problem(http.StatusForbidden, CodeForbidden, "only the provider asked creates or rejects the tenant")
	}
	var req tenantDecision
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var status string
	if strings.HasSuffix(c.Path(), "/reject") {
		if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 1000 || hasControl(req.Reason, true) {
			return validationProblem([]FieldError{{Field: "reason", Message: "is required: tell the reseller why (at most 1000 characters)"}})
		}
		err = s.update(c, r.WorkflowID, workflows.UpdateReject, &status, workflows.Answer{Reason: req.Reason})
	} else {
		if req.TenantID != "" && !guidPattern.MatchString(req.TenantID) {
			return validationProblem([]FieldError{{Field: "tenant_id", Message: "must be the tenant's GUID, such as 0f8fad5b-d9cb-469f-a165-70867728950e"}})
		}
		err = s.update(c, r.WorkflowID, workflows.UpdateApprove, &status, workflows.TenantApproval{TenantID: strings.ToLower(req.TenantID)})
	}
	if err != nil {
		return err
	}
	r.Status = status
	return c.JSON(http.StatusOK, toTenantRequestResponse(r))
}

type delegatedAdminResponse struct {
	ID             string           `json:"id"`
	RelationshipID string           `json:"relationship_id"`
	CustomerID     string           `json:"customer_id"`
	PartnerID      string           `json:"partner_id"`
	Roles          []string         `json:"roles"`
	DurationDays   int              `json:"duration_days"`
	AutoExtend     bool             `json:"auto_extend"`
	Extensions     int              `json:"extensions"`
	Status         string           `json:"status"`
	ActivatedAt    time.Time        `json:"activated_at"`
	EndsAt         time.Time        `json:"ends_at"`
	TerminatedAt   *time.Time       `json:"terminated_at,omitempty"`
	WorkflowID     string           `json:"workflow_id"`
	Events         []map[string]any `json:"events,omitempty"`
}

func toDelegatedAdminResponse(d models.DelegatedAdminRelationship) delegatedAdminResponse {
	return delegatedAdminResponse{ID: d.ID, RelationshipID: d.RelationshipID, CustomerID: d.CustomerID, PartnerID: d.PartnerID,
		Roles: d.Roles, DurationDays: d.DurationDays, AutoExtend: d.AutoExtend, Extensions: d.Extensions, Status: d.Status,
		ActivatedAt: d.ActivatedAt, EndsAt: d.EndsAt, TerminatedAt: d.TerminatedAt, WorkflowID: workflows.DelegatedAdminWorkflowID(d.ID)}
}

func (s *Server) listDelegatedAdmins(c echo.Context) error {
	pg, err := page(c)
	if err != nil {
		return err
	}
	status, err := statusFilter(c, models.DelegatedAdminActive, models.DelegatedAdminExpired, models.DelegatedAdminTerminated)
	if err != nil {
		return err
	}
	f := store.DelegatedAdminFilter{CustomerID: c.QueryParam("customer_id"), Status: status}
	if v := c.QueryParam("ending_before"); v != "" {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			at, err = time.Parse(time.DateOnly, v)
		}
		if err != nil {
			return validationProblem([]FieldError{{Field: "ending_before", Message: "must be a date (2026-12-31) or an RFC 3339 time"}})
		}
		f.EndingBefore = &at
	}
	ds, next, err := s.store.ListDelegatedAdmins(c.Request().Context(), currentPartner(c).ID, f, pg)
	if err != nil {
		return err
	}
	out := listResponse[delegatedAdminResponse]{Items: make([]delegatedAdminResponse, 0, len(ds)), NextCursor: next}
	for _, d := range ds {
		out.Items = append(out.Items, toDelegatedAdminResponse(d))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) ownDelegatedAdmin(c echo.Context) (models.DelegatedAdminRelationship, error) {
	d, err := s.store.DelegatedAdmin(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.PartnerID != currentPartner(c).ID) {
		return d, notFoundProblem("delegated admin relationship")
	}
	return d, err
}

func (s *Server) getDelegatedAdmin(c echo.Context) error {
	d, err := s.ownDelegatedAdmin(c)
	if err != nil {
		return err
	}
	out := toDelegatedAdminResponse(d)
	if out.Events, err = s.timeline(c, d.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// terminateDelegatedAdmin ends a delegated admin relationship now.
func (s *Server) terminateDelegatedAdmin(c echo.Context) error {
	d, err := s.ownDelegatedAdmin(c)
	if err != nil {
		return err
	}
	var req cancelRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Reason) > 500 || hasControl(req.Reason, false) {
		return validationProblem([]FieldError{{Field: "reason", Message: "must be at most 500 characters of plain text"}})
	}
	if d.Status != models.DelegatedAdminActive {
		return problem(http.StatusConflict, CodeConflict, "this delegated admin relationship is already "+d.Status)
	}
	var status string
	if err := s.update(c, workflows.DelegatedAdminWorkflowID(d.ID), workflows.UpdateTerminate, &status, workflows.Answer{Reason: req.Reason}); err != nil {
		return err
	}
	d.Status = status
	return c.JSON(http.StatusOK, toDelegatedAdminResponse(d))
}
