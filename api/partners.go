package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

type createPartnerRequest struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	DirectBill   bool   `json:"direct_bill"`
	ContactEmail string `json:"contact_email"`
}

type partnerResponse struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Type         string    `json:"type"`
	DirectBill   bool      `json:"direct_bill"`
	ContactEmail string    `json:"contact_email"`
	CreatedAt    time.Time `json:"created_at"`
	APIKey       string    `json:"api_key,omitempty"`
}

func toPartnerResponse(p models.Partner) partnerResponse {
	return partnerResponse{ID: p.ID, Name: p.Name, Type: p.Type, DirectBill: p.DirectBill, ContactEmail: p.ContactEmail, CreatedAt: p.CreatedAt}
}

// createPartner registers a partner and shows its API key once.
func (s *Server) createPartner(c echo.Context) error {
	var req createPartnerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var f fieldErrors
	f.requireText("name", req.Name, 200)
	if req.Type != models.PartnerTypeIndirectProvider && req.Type != models.PartnerTypeReseller {
		f.add("type", "must be indirect_provider or reseller")
	}
	if req.DirectBill && req.Type != models.PartnerTypeReseller {
		f.add("direct_bill", "only a reseller can be a direct-bill partner")
	}
	f.requireEmail("contact_email", req.ContactEmail)
	if err := f.err(); err != nil {
		return err
	}
	key, hash := secret.New(secret.APIKeyPrefix)
	now := time.Now().UTC()
	p := models.Partner{
		ID: newID(), Name: strings.TrimSpace(req.Name), Type: req.Type, DirectBill: req.DirectBill,
		ContactEmail: req.ContactEmail, APIKeyHash: hash, EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreatePartner(c.Request().Context(), &p); err != nil {
		return err
	}
	resp := toPartnerResponse(p)
	resp.APIKey = key
	c.Response().Header().Set(echo.HeaderLocation, "/v1/partners/"+p.ID)
	return c.JSON(http.StatusCreated, resp)
}

type meResponse struct {
	partnerResponse
	Enrollment   map[string]any        `json:"enrollment"`
	Partnerships []partnershipResponse `json:"partnerships"`
}

// me shows the calling partner, its enrollment and its partnerships.
func (s *Server) me(c echo.Context) error {
	me := currentPartner(c)
	ps, _, err := s.store.ListPartnerships(c.Request().Context(), me.ID, "", store.Page{Limit: 200})
	if err != nil {
		return err
	}
	out := meResponse{partnerResponse: toPartnerResponse(me), Enrollment: map[string]any{"status": me.EnrollmentStatus},
		Partnerships: make([]partnershipResponse, 0, len(ps))}
	if e, err := s.store.Enrollment(c.Request().Context(), me.ID); err == nil {
		out.Enrollment = enrollmentView(e)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for _, p := range ps {
		out.Partnerships = append(out.Partnerships, toPartnershipResponse(p))
	}
	return c.JSON(http.StatusOK, out)
}

type createPartnershipRequest struct {
	ResellerID string `json:"reseller_id"`
}

type partnershipResponse struct {
	ID         string     `json:"id"`
	ProviderID string     `json:"provider_id"`
	ResellerID string     `json:"reseller_id"`
	Status     string     `json:"status"`
	WorkflowID string     `json:"workflow_id"`
	ExpiresAt  time.Time  `json:"expires_at"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

func toPartnershipResponse(p models.Partnership) partnershipResponse {
	return partnershipResponse{ID: p.ID, ProviderID: p.ProviderID, ResellerID: p.ResellerID, Status: p.Status,
		WorkflowID: p.WorkflowID, ExpiresAt: p.ExpiresAt, DecidedAt: p.DecidedAt, CreatedAt: p.CreatedAt}
}

// createPartnership: a provider invites a reseller.
func (s *Server) createPartnership(c echo.Context) error {
	ctx := c.Request().Context()
	me := currentPartner(c)
	if me.Type != models.PartnerTypeIndirectProvider {
		return problem(http.StatusForbidden, CodeForbidden, "only an indirect provider invites resellers to a partnership")
	}
	var req createPartnershipRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.ResellerID) == "" {
		return validationProblem([]FieldError{{Field: "reseller_id", Message: "is required"}})
	}
	reseller, err := s.store.Partner(ctx, req.ResellerID)
	if err == store.ErrNotFound || (err == nil && reseller.Type != models.PartnerTypeReseller) {
		return validationProblem([]FieldError{{Field: "reseller_id", Message: "is not a reseller partner"}})
	}
	if err != nil {
		return err
	}
	id, replay, err := s.claim(c, me.ID, "create-partnership", req)
	if err != nil {
		return err
	}
	if replay {
		return s.partnershipAccepted(c, id, me.ID)
	}
	now := time.Now().UTC()
	timing := s.cfg.Timing
	p := models.Partnership{ID: id, ProviderID: me.ID, ResellerID: reseller.ID, Status: models.PartnershipInvited,
		WorkflowID: workflows.PartnershipWorkflowID(id), ExpiresAt: now.Add(timing.PartnershipExpiry), CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreatePartnership(ctx, &p); err != nil {
		if err == store.ErrConflict {
			return problem(http.StatusConflict, CodeConflict, "this reseller already has an open or active partnership with you")
		}
		return err
	}
	abandon := func(ctx context.Context) error {
		if err := s.store.SetPartnershipStatus(ctx, p.ID, models.PartnershipRemoved); err != nil {
			return err
		}
		return s.startFailed(ctx, p.ID)
	}
	err = s.start(ctx, startOptions(s.cfg.TemporalTaskQueue, p.WorkflowID,
		"Partnership: "+me.Name+" invites "+reseller.Name,
		workflows.SearchKind.ValueSet(workflows.KindPartnership), workflows.SearchStatus.ValueSet(models.PartnershipInvited),
		workflows.SearchProvider.ValueSet(me.ID), workflows.SearchReseller.ValueSet(reseller.ID)),
		workflows.KindPartnership, abandon, workflows.PartnershipWorkflow, workflows.PartnershipInput{
			PartnershipID: id,
			Provider:      workflows.Party{ID: me.ID, Name: me.Name, Email: me.ContactEmail},
			Reseller:      workflows.Party{ID: reseller.ID, Name: reseller.Name, Email: reseller.ContactEmail},
			Reminders:     timing.PartnershipReminders, ExpireAfter: timing.PartnershipExpiry,
		})
	if err != nil {
		return err
	}
	return s.partnershipAccepted(c, id, me.ID)
}

func (s *Server) partnershipAccepted(c echo.Context, id, partnerID string) error {
	p, err := s.visiblePartnership(c, id, partnerID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/partnerships/"+p.ID)
	return c.JSON(http.StatusAccepted, toPartnershipResponse(p))
}

func (s *Server) visiblePartnership(c echo.Context, id, partnerID string) (models.Partnership, error) {
	p, err := s.store.Partnership(c.Request().Context(), id)
	if err == store.ErrNotFound || (err == nil && p.ProviderID != partnerID && p.ResellerID != partnerID) {
		return p, notFoundProblem("partnership")
	}
	return p, err
}

var partnershipStatuses = []string{models.PartnershipInvited, models.PartnershipActive, models.PartnershipDeclined, models.PartnershipExpired, models.PartnershipRemoved}

func (s *Server) getPartnership(c echo.Context) error {
	p, err := s.visiblePartnership(c, c.Param("id"), currentPartner(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPartnershipResponse(p))
}

// answerPartnership: the reseller accepts or declines (the route's last segment).
func (s *Server) answerPartnership(c echo.Context) error {
	me := currentPartner(c)
	p, err := s.visiblePartnership(c, c.Param("id"), me.ID)
	if err != nil {
		return err
	}
	if p.ResellerID != me.ID {
		return problem(http.StatusForbidden, CodeForbidden, "only the invited reseller answers a partnership invitation")
	}
	update := workflows.UpdateAccept
	if strings.HasSuffix(c.Path(), "/decline") {
		update = workflows.UpdateDecline
	}
	if p.Status != models.PartnershipInvited {
		return problem(http.StatusConflict, CodeConflict, "this partnership is already "+p.Status)
	}
	var status string
	if err := s.update(c, p.WorkflowID, update, &status); err != nil {
		return err
	}
	p.Status = status
	return c.JSON(http.StatusOK, toPartnershipResponse(p))
}

// update runs a workflow update and waits for its result.
func (s *Server) update(c echo.Context, workflowID, name string, result any, args ...any) error {
	h, err := s.temporal.UpdateWorkflow(c.Request().Context(), client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, Args: args, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(c.Request().Context(), result)
}

// claim binds the request's Idempotency-Key (if any) to a new resource ID.
func (s *Server) claim(c echo.Context, partnerID, operation string, req any) (id string, replay bool, err error) {
	key := c.Request().Header.Get("Idempotency-Key")
	if key == "" {
		return newID(), false, nil
	}
	if len(key) > 200 {
		return "", false, validationProblem([]FieldError{{Field: "Idempotency-Key", Message: "must be at most 200 characters"}})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", false, err
	}
	sum := sha256.Sum256(body)
	return s.store.ClaimIdempotencyKey(c.Request().Context(), models.IdempotencyKey{
		PartnerID: partnerID, Key: key, Operation: operation, RequestHash: hex.EncodeToString(sum[:]), ResourceID: newID(),
	})
}

// startOptions: deterministic ID, a failed run may be retried, a running or
// completed one never duplicated.
func startOptions(taskQueue, workflowID, summary string, attrs ...temporal.SearchAttributeUpdate) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Report a duplicate start as an error, not as the existing run, so
		// that only a real start counts as one.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
		StaticSummary:                            summary,
	}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
