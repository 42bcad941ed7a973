package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// partnerStore is what the partner and partnership handlers read and write.
type partnerStore interface {
	CreatePartner(ctx context.Context, p *models.Partner, key ...models.APIKey) error
	Enrollment(ctx context.Context, partnerID string) (models.Enrollment, error)
	ListPartnerships(ctx context.Context, partnerID, status string, page store.Page) ([]models.Partnership, string, error)
	Partner(ctx context.Context, id string) (models.Partner, error)
	Partnership(ctx context.Context, id string) (models.Partnership, error)
	PartnershipsOf(ctx context.Context, partnerID string) ([]models.Partnership, error)
	SetPartnershipStatus(ctx context.Context, id, status string) error
}

// CreatePartner registers a partner and shows its API key once.
func (s *Server) CreatePartner(ctx context.Context, request oapi.CreatePartnerRequestObject) (oapi.CreatePartnerResponseObject, error) {
	req := request.Body
	var f fieldErrors
	f.requireName("name", req.Name, 200)
	if req.DirectBill && req.Type != models.PartnerTypeReseller {
		f.add("direct_bill", "only a reseller can be a direct-bill partner")
	}
	f.requireEmail("contact_email", req.ContactEmail)
	if err := f.err(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	p := models.Partner{
		ID: newID(), Name: strings.TrimSpace(req.Name), Type: string(req.Type), DirectBill: req.DirectBill,
		ContactEmail: req.ContactEmail, Locale: string(req.Locale), EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now,
	}
	key, k := newAPIKey(p.ID, nil)
	if err := s.store.CreatePartner(ctx, &p, k); err != nil {
		return nil, err
	}
	return oapi.CreatePartner201JSONResponse{
		Body: oapi.NewPartner{Id: p.ID, Name: p.Name, Type: oapi.NewPartnerType(p.Type), DirectBill: p.DirectBill,
			ContactEmail: p.ContactEmail, Locale: oapi.Locale(p.Locale), CreatedAt: p.CreatedAt, ApiKey: key},
		Headers: oapi.CreatePartner201ResponseHeaders{Location: "/v1/partners/" + p.ID},
	}, nil
}

// GetMe shows the calling partner, its enrollment and its partnerships.
func (s *Server) GetMe(ctx context.Context, _ oapi.GetMeRequestObject) (oapi.GetMeResponseObject, error) {
	me := currentPartner(ctx)
	ps, err := s.store.PartnershipsOf(ctx, me.ID)
	if err != nil {
		return nil, err
	}
	out := oapi.GetMe200JSONResponse{Id: me.ID, Name: me.Name, Type: oapi.MeType(me.Type), DirectBill: me.DirectBill,
		ContactEmail: me.ContactEmail, Locale: oapi.Locale(me.Locale), CreatedAt: me.CreatedAt,
		Enrollment: oapi.Enrollment{Status: oapi.EnrollmentStatus(me.EnrollmentStatus)}, Partnerships: views(ps, partnershipView)}
	if e, err := s.store.Enrollment(ctx, me.ID); err == nil {
		out.Enrollment = enrollmentView(e)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return out, nil
}

func partnershipView(p models.Partnership) oapi.Partnership {
	return oapi.Partnership{Id: p.ID, ProviderId: p.ProviderID, ResellerId: p.ResellerID, Status: oapi.PartnershipStatus(p.Status),
		WorkflowId: p.WorkflowID, ExpiresAt: p.ExpiresAt, DecidedAt: valueOf(p.DecidedAt), CreatedAt: p.CreatedAt}
}

// CreatePartnership: a provider invites a reseller.
func (s *Server) CreatePartnership(ctx context.Context, request oapi.CreatePartnershipRequestObject) (oapi.CreatePartnershipResponseObject, error) {
	me, req := currentPartner(ctx), request.Body
	if me.Type != models.PartnerTypeIndirectProvider {
		return nil, problem(http.StatusForbidden, CodeForbidden, "only an indirect provider invites resellers to a partnership")
	}
	p, err := create(ctx, s, createRequest{me.ID, request.Params.IdempotencyKey, "create-partnership", req}, models.PartnershipLifecycle, s.store.Partnership,
		func(id string, now time.Time) (models.Partnership, func(models.Partnership) startPlan, error) {
			return s.newPartnership(ctx, me, req.ResellerId, id, now)
		})
	if errors.Is(err, store.ErrConflict) {
		return nil, problem(http.StatusConflict, CodeConflict, "this reseller already has an open or active partnership with you")
	}
	if err != nil {
		return nil, err
	}
	return oapi.CreatePartnership202JSONResponse{Body: partnershipView(p),
		Headers: oapi.CreatePartnership202ResponseHeaders{Location: "/v1/partnerships/" + p.ID}}, nil
}

// newPartnership checks the invited reseller and builds the partnership's row.
func (s *Server) newPartnership(ctx context.Context, me models.Partner, resellerID, id string, now time.Time) (
	p models.Partnership, plan func(models.Partnership) startPlan, err error) {
	if strings.TrimSpace(resellerID) == "" {
		return p, nil, validationProblem([]FieldError{{Field: "reseller_id", Message: "is required"}})
	}
	reseller, err := s.store.Partner(ctx, resellerID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && reseller.Type != models.PartnerTypeReseller) {
		return p, nil, validationProblem([]FieldError{{Field: "reseller_id", Message: "is not a reseller partner"}})
	}
	if err != nil {
		return p, nil, err
	}
	p = models.Partnership{ID: id, ProviderID: me.ID, ResellerID: reseller.ID, Status: models.PartnershipInvited,
		WorkflowID: workflows.PartnershipWorkflowID(id), ExpiresAt: now.Add(s.cfg.Timing.PartnershipExpiry), CreatedAt: now, UpdatedAt: now}
	return p, func(p models.Partnership) startPlan { return s.partnershipPlanOf(p, me, reseller) }, nil
}

// partnershipPlan plans a partnership's start from its row.
func (s *Server) partnershipPlan(ctx context.Context, p models.Partnership) (startPlan, error) {
	provider, reseller, err := s.partners(ctx, p.ProviderID, p.ResellerID)
	if err != nil {
		return startPlan{}, err
	}
	return s.partnershipPlanOf(p, provider, reseller), nil
}

func (s *Server) partnershipPlanOf(p models.Partnership, provider, reseller models.Partner) startPlan {
	return startPlan{kind: workflows.KindPartnership, subjectID: p.ID,
		opts: startOptions(s.cfg.TemporalTaskQueue, p.WorkflowID, "Partnership: "+provider.Name+" invites "+reseller.Name,
			workflows.SearchKind.ValueSet(workflows.KindPartnership), workflows.SearchStatus.ValueSet(models.PartnershipInvited),
			workflows.SearchProvider.ValueSet(provider.ID), workflows.SearchReseller.ValueSet(reseller.ID)),
		workflow: workflows.PartnershipWorkflow,
		input: workflows.PartnershipInput{
			PartnershipID: p.ID, Provider: party(provider), Reseller: party(reseller),
			Reminders: s.cfg.Timing.PartnershipReminders, ExpireAfter: p.ExpiresAt.Sub(p.CreatedAt),
		},
		abandon: func(ctx context.Context, reason string) error {
			if err := s.store.SetPartnershipStatus(ctx, p.ID, models.PartnershipRemoved); err != nil {
				return err
			}
			return s.startFailed(ctx, p.ID, reason)
		},
	}
}

func (s *Server) visiblePartnership(ctx context.Context, id string) (models.Partnership, error) {
	return partyTo(ctx, id, "partnership", s.store.Partnership, func(p models.Partnership) (string, string) { return p.ProviderID, p.ResellerID })
}

func (s *Server) ListPartnerships(ctx context.Context, request oapi.ListPartnershipsRequestObject) (oapi.ListPartnershipsResponseObject, error) {
	p := request.Params
	items, next, err := listByStatus(ctx, string(p.Status), p.Limit, p.Cursor, models.PartnershipLifecycle, s.store.ListPartnerships)
	if err != nil {
		return nil, err
	}
	return oapi.ListPartnerships200JSONResponse{Items: views(items, partnershipView), NextCursor: next}, nil
}

func (s *Server) GetPartnership(ctx context.Context, request oapi.GetPartnershipRequestObject) (oapi.GetPartnershipResponseObject, error) {
	p, err := s.visiblePartnership(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetPartnership200JSONResponse{PartnershipBodyJSONResponse: oapi.PartnershipBodyJSONResponse(partnershipView(p))}, nil
}

func (s *Server) AcceptPartnership(ctx context.Context, request oapi.AcceptPartnershipRequestObject) (oapi.AcceptPartnershipResponseObject, error) {
	p, err := s.answerPartnership(ctx, request.Id, workflows.UpdateAccept)
	if err != nil {
		return nil, err
	}
	return oapi.AcceptPartnership200JSONResponse{PartnershipBodyJSONResponse: oapi.PartnershipBodyJSONResponse(p)}, nil
}

func (s *Server) DeclinePartnership(ctx context.Context, request oapi.DeclinePartnershipRequestObject) (oapi.DeclinePartnershipResponseObject, error) {
	p, err := s.answerPartnership(ctx, request.Id, workflows.UpdateDecline)
	if err != nil {
		return nil, err
	}
	return oapi.DeclinePartnership200JSONResponse{PartnershipBodyJSONResponse: oapi.PartnershipBodyJSONResponse(p)}, nil
}

// answerPartnership: the invited reseller accepts or declines.
func (s *Server) answerPartnership(ctx context.Context, id, update string) (oapi.Partnership, error) {
	me := currentPartner(ctx)
	p, err := s.visiblePartnership(ctx, id)
	if err != nil {
		return oapi.Partnership{}, err
	}
	if p.ResellerID != me.ID {
		return oapi.Partnership{}, problem(http.StatusForbidden, CodeForbidden, "only the invited reseller answers a partnership invitation")
	}
	if p.Status != models.PartnershipInvited {
		return oapi.Partnership{}, problem(http.StatusConflict, CodeConflict, "this partnership is already "+p.Status)
	}
	var status string
	if err := s.update(ctx, p.WorkflowID, update, &status); err != nil {
		return oapi.Partnership{}, err
	}
	p.Status = status
	return partnershipView(p), nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
