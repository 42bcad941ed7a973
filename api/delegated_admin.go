package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// The delegated admin relationships a reseller was granted: list, read (with
// its timeline) and terminate. Their lifecycle is workflows.DelegatedAdminWorkflow.

func delegatedAdminView(d models.DelegatedAdminRelationship) oapi.DelegatedAdmin {
	names, ids := roleView(d.Roles)
	v := oapi.DelegatedAdmin{Id: d.ID, RelationshipId: d.RelationshipID, CustomerId: d.CustomerID, PartnerId: d.PartnerID,
		Roles: names, RoleIds: ids, DurationDays: d.DurationDays, AutoExtend: d.AutoExtend, Extensions: d.Extensions, Status: oapi.DelegatedAdminStatus(d.Status),
		ActivatedAt: d.ActivatedAt, EndsAt: d.EndsAt, TerminatedAt: valueOf(d.TerminatedAt), WorkflowId: workflows.DelegatedAdminWorkflowID(d.ID),
		GraphRelationshipId: valueOf(d.GraphRelationshipID)}
	if d.Status == models.DelegatedAdminApprovalPending && d.GraphRelationshipID != nil {
		// The partner can pass it on too; the customer has it by e-mail.
		v.ApprovalLink = workflows.ApprovalLink(*d.GraphRelationshipID)
	}
	return v
}

func (s *Server) ListDelegatedAdmins(ctx context.Context, request oapi.ListDelegatedAdminsRequestObject) (oapi.ListDelegatedAdminsResponseObject, error) {
	p := request.Params
	pg, err := pageOf(p.Limit, p.Cursor)
	if err != nil {
		return nil, err
	}
	status, err := statusFilter(string(p.Status), models.DelegatedAdminLifecycle.Statuses...)
	if err != nil {
		return nil, err
	}
	f := store.DelegatedAdminFilter{CustomerID: p.CustomerId, Status: status}
	if v := p.EndingBefore; v != "" {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			at, err = time.Parse(time.DateOnly, v)
		}
		if err != nil {
			return nil, validationProblem([]FieldError{{Field: "ending_before", Message: "must be a date (2026-12-31) or an RFC 3339 time"}})
		}
		f.EndingBefore = &at
	}
	ds, next, err := s.store.ListDelegatedAdmins(ctx, currentPartner(ctx).ID, f, pg)
	if err != nil {
		return nil, err
	}
	return oapi.ListDelegatedAdmins200JSONResponse{Items: views(ds, delegatedAdminView), NextCursor: next}, nil
}

func (s *Server) ownDelegatedAdmin(ctx context.Context, id string) (models.DelegatedAdminRelationship, error) {
	d, err := s.store.DelegatedAdmin(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.PartnerID != currentPartner(ctx).ID) {
		return d, notFoundProblem("delegated admin relationship")
	}
	return d, err
}

func (s *Server) GetDelegatedAdmin(ctx context.Context, request oapi.GetDelegatedAdminRequestObject) (oapi.GetDelegatedAdminResponseObject, error) {
	d, err := s.ownDelegatedAdmin(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	out := delegatedAdminView(d)
	if out.Events, err = s.timeline(ctx, d.ID, d.PartnerID); err != nil {
		return nil, err
	}
	return oapi.GetDelegatedAdmin200JSONResponse(out), nil
}

// TerminateDelegatedAdmin ends a delegated admin relationship now.
func (s *Server) TerminateDelegatedAdmin(ctx context.Context, request oapi.TerminateDelegatedAdminRequestObject) (oapi.TerminateDelegatedAdminResponseObject, error) {
	d, err := s.ownDelegatedAdmin(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	reason := request.Body.Reason
	if err := validReason(reason, 500); err != nil {
		return nil, err
	}
	if d.Status == models.DelegatedAdminApprovalPending {
		return nil, problem(http.StatusConflict, CodeConflict, "this delegated admin relationship waits for the customer's approval at Microsoft; it can be ended once active")
	}
	if d.Status != models.DelegatedAdminActive {
		return nil, problem(http.StatusConflict, CodeConflict, "this delegated admin relationship is already "+d.Status)
	}
	var status string
	err = s.update(ctx, workflows.DelegatedAdminWorkflowID(d.ID), workflows.UpdateTerminate, &status, workflows.Answer{Reason: reason})
	// The row is written just before its lifecycle workflow starts: a
	// terminate in that moment waits for the start rather than failing.
	var nf *serviceerror.NotFound
	for deadline := time.Now().Add(10 * time.Second); errors.As(err, &nf) && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
		err = s.update(ctx, workflows.DelegatedAdminWorkflowID(d.ID), workflows.UpdateTerminate, &status, workflows.Answer{Reason: reason})
	}
	if err != nil {
		return nil, err
	}
	d.Status = status
	return oapi.TerminateDelegatedAdmin200JSONResponse(delegatedAdminView(d)), nil
}
