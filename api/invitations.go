package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

type invitationCustomer struct {
	CustomerID  string `json:"customer_id,omitempty"`
	CompanyName string `json:"company_name,omitempty"`
	Email       string `json:"email,omitempty"`
}

type createInvitationRequest struct {
	ProviderID     string                        `json:"provider_id"`
	Customer       *invitationCustomer           `json:"customer"`
	Message        string                        `json:"message,omitempty"`
	DelegatedAdmin *models.DelegatedAdminRequest `json:"delegated_admin,omitempty"`
}

func validateDelegatedAdmin(f *fieldErrors, d *models.DelegatedAdminRequest) {
	if d == nil {
		return
	}
	if len(d.Roles) == 0 || len(d.Roles) > 30 {
		f.add("delegated_admin.roles", "must list 1 to 30 roles")
	}
	seen := map[string]bool{}
	for i, r := range d.Roles {
		field := fmt.Sprintf("delegated_admin.roles[%d]", i)
		switch {
		case strings.TrimSpace(r) == "" || len(r) > 100 || hasControl(r, false):
			f.add(field, "must be a role name of at most 100 characters")
		case seen[r]:
			f.add(field, "is listed twice")
		}
		seen[r] = true
	}
	if d.DurationDays < 1 || d.DurationDays > 730 {
		f.add("delegated_admin.duration_days", "must be from 1 to 730 days")
	}
	if d.AutoExtend && seen[models.GlobalAdministrator] {
		f.add("delegated_admin.auto_extend", "cannot be used with the Global Administrator role")
	}
}

type invitationResponse struct {
	ID             string                        `json:"id"`
	Status         string                        `json:"status"`
	WorkflowID     string                        `json:"workflow_id"`
	ProviderID     string                        `json:"provider_id"`
	ResellerID     string                        `json:"reseller_id"`
	CustomerID     *string                       `json:"customer_id,omitempty"`
	Customer       invitationCustomer            `json:"customer"`
	Message        string                        `json:"message,omitempty"`
	DelegatedAdmin *models.DelegatedAdminRequest `json:"delegated_admin,omitempty"`
	RelationshipID *string                       `json:"relationship_id,omitempty"`
	ExpiresAt      time.Time                     `json:"expires_at"`
	CreatedAt      time.Time                     `json:"created_at"`
	Events         []map[string]any              `json:"events,omitempty"`
}

func toInvitationResponse(inv models.Invitation) invitationResponse {
	return invitationResponse{
		ID: inv.ID, Status: inv.Status, WorkflowID: inv.WorkflowID, ProviderID: inv.ProviderID, ResellerID: inv.ResellerID,
		CustomerID: inv.CustomerID, Customer: invitationCustomer{CompanyName: inv.CustomerCompany, Email: inv.CustomerEmail},
		Message: inv.Message, DelegatedAdmin: inv.DelegatedAdmin, RelationshipID: inv.RelationshipID,
		ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt,
	}
}

// timeline is an onboarding's events, as answered in its GET.
func (s *Server) timeline(c echo.Context, subjectID string) ([]map[string]any, error) {
	events, err := s.store.Events(c.Request().Context(), subjectID)
	if err != nil {
		return nil, err
	}
	return toEvents(events), nil
}

func toEvents(events []models.OnboardingEvent) []map[string]any {
	out := make([]map[string]any, 0, len(events))
	for _, e := range events {
		m := map[string]any{}
		for k, v := range e.Details {
			m[k] = v
		}
		m["type"], m["at"], m["seq"] = e.Type, e.At, e.Seq
		out = append(out, m)
	}
	return out
}

// validate checks the request's shape; what needs the database comes after.
func (req createInvitationRequest) validate() error {
	var f fieldErrors
	if strings.TrimSpace(req.ProviderID) == "" {
		f.add("provider_id", "is required")
	}
	switch {
	case req.Customer == nil:
		f.add("customer", "is required: {company_name, email} for a new customer or {customer_id} for one of yours")
	case req.Customer.CustomerID != "":
		if req.Customer.Email != "" || req.Customer.CompanyName != "" {
			f.add("customer", "give either customer_id or company_name and email, not both")
		}
	default:
		f.requireText("customer.company_name", req.Customer.CompanyName, 200)
		f.requireEmail("customer.email", req.Customer.Email)
	}
	validateMessage(&f, req.Message)
	validateDelegatedAdmin(&f, req.DelegatedAdmin)
	return f.err()
}

// createInvitation: a reseller invites a customer to a relationship with it and one of its providers.
func (s *Server) createInvitation(c echo.Context) error {
	ctx := c.Request().Context()
	me := currentPartner(c)
	if me.Type != models.PartnerTypeReseller {
		return problem(http.StatusForbidden, CodeForbidden, "only a reseller sends customer invitations")
	}
	var req createInvitationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
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
		return problem(http.StatusUnprocessableEntity, CodePartnershipNotActive,
			"you have no active partnership with "+provider.Name+"; the provider invites you (POST /v1/partnerships) and you accept it first")
	}
	inv := models.Invitation{ResellerID: me.ID, ProviderID: provider.ID, Message: req.Message,
		DelegatedAdmin: req.DelegatedAdmin, Status: models.InvitationWaitingForCustomer}
	if req.Customer.CustomerID != "" {
		cust, err := s.store.CustomerOfPartner(ctx, me.ID, req.Customer.CustomerID)
		if errors.Is(err, store.ErrNotFound) {
			return validationProblem([]FieldError{{Field: "customer.customer_id", Message: "is not one of your customers"}})
		}
		if err != nil {
			return err
		}
		rels, _, err := s.store.ListRelationships(ctx, me.ID, store.RelationshipFilter{CustomerID: cust.ID, Status: models.RelationshipActive}, store.Page{Limit: 200})
		if err != nil {
			return err
		}
		for _, r := range rels {
			if r.ProviderID == provider.ID && r.ResellerID == me.ID {
				return problem(http.StatusUnprocessableEntity, CodeRelationshipExists, "this customer already has an active relationship with you and "+provider.Name)
			}
		}
		inv.CustomerID, inv.CustomerCompany, inv.CustomerEmail = &cust.ID, cust.CompanyName, cust.ContactEmail
	} else {
		inv.CustomerCompany, inv.CustomerEmail = strings.TrimSpace(req.Customer.CompanyName), req.Customer.Email
	}

	id, replay, err := s.claim(c, me.ID, "create-invitation", req)
	if err != nil {
		return err
	}
	if !replay {
		now := time.Now().UTC()
		inv.ID, inv.WorkflowID = id, workflows.InvitationWorkflowID(id)
		inv.ExpiresAt, inv.CreatedAt, inv.UpdatedAt = now.Add(s.cfg.Timing.InvitationExpiry), now, now
		if err := s.store.CreateInvitation(ctx, &inv); err != nil {
			return err
		}
	} else if inv, err = s.store.Invitation(ctx, id); err != nil {
		return err
	}
	// A replay starts the workflow too: the first attempt may have died between
	// its insert and its start. The deterministic ID makes this safe.
	attrs := []temporal.SearchAttributeUpdate{workflows.SearchKind.ValueSet(workflows.KindInvitation),
		workflows.SearchStatus.ValueSet(models.InvitationWaitingForCustomer),
		workflows.SearchReseller.ValueSet(me.ID), workflows.SearchProvider.ValueSet(provider.ID)}
	if inv.CustomerID != nil {
		attrs = append(attrs, workflows.SearchCustomer.ValueSet(*inv.CustomerID))
	}
	opts := startOptions(s.cfg.TemporalTaskQueue, inv.WorkflowID, "Invitation of "+inv.CustomerEmail+" by "+me.Name, attrs...)
	input := workflows.InvitationInput{
		InvitationID:    inv.ID,
		Reseller:        workflows.Party{ID: me.ID, Name: me.Name, Email: me.ContactEmail},
		Provider:        workflows.Party{ID: provider.ID, Name: provider.Name, Email: provider.ContactEmail},
		CustomerCompany: inv.CustomerCompany, CustomerEmail: inv.CustomerEmail,
		Message: inv.Message, DelegatedAdmin: inv.DelegatedAdmin,
		Reminders: s.cfg.Timing.InvitationReminders, ExpireAfter: inv.ExpiresAt.Sub(inv.CreatedAt),
	}
	if inv.CustomerID != nil {
		input.CustomerID = *inv.CustomerID
	}
	abandon := func(ctx context.Context) error {
		if err := s.store.SetInvitationStatus(ctx, inv.ID, models.InvitationFailed, ""); err != nil {
			return err
		}
		return s.startFailed(ctx, inv.ID)
	}
	if err := s.start(ctx, opts, workflows.KindInvitation, abandon, workflows.InvitationWorkflow, input); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/invitations/"+inv.ID)
	return c.JSON(http.StatusAccepted, toInvitationResponse(inv))
}

func alreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

// visibleInvitation loads an invitation the calling partner is party to.
func (s *Server) visibleInvitation(c echo.Context) (models.Invitation, error) {
	return partyTo(c, "invitation", s.store.Invitation, func(i models.Invitation) (string, string) { return i.ResellerID, i.ProviderID })
}

func (s *Server) getInvitation(c echo.Context) error {
	inv, err := s.visibleInvitation(c)
	if err != nil {
		return err
	}
	out := toInvitationResponse(inv)
	if out.Events, err = s.timeline(c, inv.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

var invitationStatuses = []string{models.InvitationWaitingForCustomer, models.InvitationAccepted, models.InvitationCompleted,
	models.InvitationDeclined, models.InvitationExpired, models.InvitationCancelled, models.InvitationFailed}

type cancelRequest struct {
	Reason string `json:"reason,omitempty"`
}

// cancelInvitation: the reseller withdraws an invitation that still waits.
func (s *Server) cancelInvitation(c echo.Context) error {
	inv, err := s.ownInvitation(c)
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
	var status string
	if err := s.update(c, inv.WorkflowID, workflows.UpdateCancel, &status, workflows.Answer{Reason: req.Reason}); err != nil {
		return s.closedInvitation(inv, err)
	}
	inv.Status = status
	return c.JSON(http.StatusOK, toInvitationResponse(inv))
}

// resendInvitation sends the invitation e-mail again, with a fresh link.
func (s *Server) resendInvitation(c echo.Context) error {
	inv, err := s.ownInvitation(c)
	if err != nil {
		return err
	}
	var n int
	if err := s.update(c, inv.WorkflowID, workflows.UpdateResend, &n); err != nil {
		return s.closedInvitation(inv, err)
	}
	return c.JSON(http.StatusAccepted, map[string]any{"id": inv.ID, "status": inv.Status, "resend": n})
}

func (s *Server) ownInvitation(c echo.Context) (models.Invitation, error) {
	me := currentPartner(c)
	inv, err := s.visibleInvitation(c)
	if err != nil {
		return inv, err
	}
	if inv.ResellerID != me.ID {
		return inv, problem(http.StatusForbidden, CodeForbidden, "only the inviting reseller can change an invitation")
	}
	return inv, nil
}

// closedInvitation explains a rejected update on an invitation that no longer waits.
func (s *Server) closedInvitation(inv models.Invitation, err error) error {
	p := toProblem(err)
	if p.Status == http.StatusConflict {
		p.Detail = "the invitation no longer waits for the customer: " + p.Detail
	}
	return p
}
