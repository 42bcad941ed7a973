package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

type consentRequest struct {
	Method      string     `json:"method"`
	SignerName  string     `json:"signer_name,omitempty"`
	SignerEmail string     `json:"signer_email,omitempty"`
	ObtainedAt  *time.Time `json:"obtained_at,omitempty"`
	Evidence    string     `json:"evidence,omitempty"`
}

type createExtensionRequest struct {
	CustomerID             string          `json:"customer_id"`
	ProviderID             string          `json:"provider_id"`
	ShareBillTo            bool            `json:"share_bill_to"`
	DelegatedAdminRequired bool            `json:"delegated_admin_required"`
	Consent                *consentRequest `json:"consent"`
}

type extensionResponse struct {
	ID             string           `json:"id"`
	Status         string           `json:"status"`
	WorkflowID     string           `json:"workflow_id"`
	CustomerID     string           `json:"customer_id"`
	ProviderID     string           `json:"provider_id"`
	ResellerID     string           `json:"reseller_id"`
	Consent        map[string]any   `json:"consent"`
	RelationshipID *string          `json:"relationship_id,omitempty"`
	ExpiresAt      time.Time        `json:"expires_at"`
	CreatedAt      time.Time        `json:"created_at"`
	Events         []map[string]any `json:"events,omitempty"`
}

func toExtensionResponse(x models.RelationshipExtension, consent *models.ConsentRecord) extensionResponse {
	c := map[string]any{"method": x.ConsentMethod, "status": "pending"}
	if consent != nil {
		c["status"], c["id"], c["obtained_at"], c["recorded_at"] = "recorded", consent.ID, consent.ObtainedAt, consent.CreatedAt
		c["signer_name"], c["signer_email"] = consent.SignerName, consent.SignerEmail
	} else if x.Status != models.ExtensionWaitingForConsent {
		c["status"] = "none"
	}
	return extensionResponse{ID: x.ID, Status: x.Status, WorkflowID: x.WorkflowID, CustomerID: x.CustomerID, ProviderID: x.ProviderID,
		ResellerID: x.ResellerID, Consent: c, RelationshipID: x.RelationshipID, ExpiresAt: x.ExpiresAt, CreatedAt: x.CreatedAt}
}

// createExtension starts a relationship extension after every gate (R1–R6) passed.
func (s *Server) createExtension(c echo.Context) error {
	ctx := c.Request().Context()
	me := currentPartner(c)
	var req createExtensionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var f fieldErrors
	if strings.TrimSpace(req.CustomerID) == "" {
		f.add("customer_id", "is required")
	}
	if strings.TrimSpace(req.ProviderID) == "" {
		f.add("provider_id", "is required")
	}
	if req.Consent == nil {
		req.Consent = &consentRequest{Method: models.ConsentCustomerConfirmation}
	}
	if req.Consent.Method == "" {
		req.Consent.Method = models.ConsentCustomerConfirmation
	}
	if req.Consent.Method != models.ConsentCustomerConfirmation && req.Consent.Method != models.ConsentPartnerAttestation {
		f.add("consent.method", "must be customer_confirmation or partner_attestation")
	}
	if err := f.err(); err != nil {
		return err
	}
	if err := rules.CheckExtension(ctx, s.store, rules.Extension{ResellerID: me.ID, ProviderID: req.ProviderID, CustomerID: req.CustomerID,
		ShareBillTo: req.ShareBillTo, DelegatedAdminRequired: req.DelegatedAdminRequired}); err != nil {
		return err
	}
	var attestation *workflows.Attestation
	if req.Consent.Method == models.ConsentPartnerAttestation {
		a := rules.Attestation{SignerName: req.Consent.SignerName, SignerEmail: req.Consent.SignerEmail, Evidence: req.Consent.Evidence}
		if req.Consent.ObtainedAt != nil {
			a.ObtainedAt = req.Consent.ObtainedAt.UTC()
		}
		if err := rules.CheckAttestation(a, time.Now(), s.cfg.AllowConsentAttestation); err != nil {
			return err
		}
		attestation = &workflows.Attestation{SignerName: a.SignerName, SignerEmail: a.SignerEmail, ObtainedAt: a.ObtainedAt, Evidence: strings.TrimSpace(a.Evidence)}
	}
	customer, err := s.store.Customer(ctx, req.CustomerID)
	if err != nil {
		return err
	}
	provider, err := s.store.Partner(ctx, req.ProviderID)
	if err != nil {
		return err
	}

	id, replay, err := s.claim(c, me.ID, "create-extension", req)
	if err != nil {
		return err
	}
	var x models.RelationshipExtension
	if replay {
		if x, err = s.store.Extension(ctx, id); err != nil {
			return err
		}
	} else {
		now := time.Now().UTC()
		x = models.RelationshipExtension{ID: id, ResellerID: me.ID, ProviderID: provider.ID, CustomerID: customer.ID,
			Status: models.ExtensionWaitingForConsent, ConsentMethod: req.Consent.Method, WorkflowID: workflows.ExtensionWorkflowID(id),
			ExpiresAt: now.Add(s.cfg.Timing.ConsentExpiry), CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateExtension(ctx, &x); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return problem(http.StatusConflict, CodeConflict, "an extension for this customer and provider already waits for consent")
			}
			return err
		}
	}
	opts := startOptions(s.cfg.TemporalTaskQueue, x.WorkflowID, "Extension of "+customer.CompanyName+" to "+provider.Name,
		workflows.SearchKind.ValueSet(workflows.KindExtension), workflows.SearchStatus.ValueSet(models.ExtensionWaitingForConsent),
		workflows.SearchReseller.ValueSet(me.ID), workflows.SearchProvider.ValueSet(provider.ID), workflows.SearchCustomer.ValueSet(customer.ID))
	abandon := func(ctx context.Context) error {
		if err := s.store.SetExtensionStatus(ctx, x.ID, models.ExtensionFailed, "", ""); err != nil {
			return err
		}
		return s.startFailed(ctx, x.ID)
	}
	err = s.start(ctx, opts, workflows.KindExtension, abandon, workflows.ExtensionWorkflow, workflows.ExtensionInput{
		ExtensionID: x.ID,
		Reseller:    workflows.Party{ID: me.ID, Name: me.Name, Email: me.ContactEmail},
		Provider:    workflows.Party{ID: provider.ID, Name: provider.Name, Email: provider.ContactEmail},
		CustomerID:  customer.ID, CustomerName: customer.CompanyName, CustomerEmail: customer.ContactEmail,
		Method: x.ConsentMethod, Attestation: attestation,
		Reminders: s.cfg.Timing.ConsentReminders, ExpireAfter: x.ExpiresAt.Sub(x.CreatedAt),
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/relationship-extensions/"+x.ID)
	return c.JSON(http.StatusAccepted, toExtensionResponse(x, nil))
}

func (s *Server) visibleExtension(c echo.Context) (models.RelationshipExtension, error) {
	return partyTo(c, "relationship extension", s.store.Extension, func(x models.RelationshipExtension) (string, string) { return x.ResellerID, x.ProviderID })
}

func (s *Server) getExtension(c echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.visibleExtension(c)
	if err != nil {
		return err
	}
	var consent *models.ConsentRecord
	if rec, err := s.store.ConsentForExtension(ctx, x.ID); err == nil {
		consent = &rec
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	out := toExtensionResponse(x, consent)
	if out.Events, err = s.timeline(c, x.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

var extensionStatuses = []string{models.ExtensionWaitingForConsent, models.ExtensionConsentDeclined, models.ExtensionExpired,
	models.ExtensionCancelled, models.ExtensionCompleted, models.ExtensionFailed}

// cancelExtension: the reseller withdraws an extension still waiting for consent.
func (s *Server) cancelExtension(c echo.Context) error {
	me := currentPartner(c)
	x, err := s.visibleExtension(c)
	if err != nil {
		return err
	}
	if x.ResellerID != me.ID {
		return problem(http.StatusForbidden, CodeForbidden, "only the reseller that asked can cancel an extension")
	}
	var req cancelRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Reason) > 500 || hasControl(req.Reason, false) {
		return validationProblem([]FieldError{{Field: "reason", Message: "must be at most 500 characters of plain text"}})
	}
	var status string
	if err := s.update(c, x.WorkflowID, workflows.UpdateCancel, &status, workflows.Answer{Reason: req.Reason}); err != nil {
		p := toProblem(err)
		if p.Status == http.StatusConflict {
			p.Detail = "the extension no longer waits for consent: " + p.Detail
		}
		return p
	}
	x.Status = status
	return c.JSON(http.StatusOK, toExtensionResponse(x, nil))
}

// submitEnrollment: a reseller asks to be approved as an indirect reseller.
func (s *Server) submitEnrollment(c echo.Context) error {
	ctx := c.Request().Context()
	me := currentPartner(c)
	if me.Type != models.PartnerTypeReseller {
		return problem(http.StatusForbidden, CodeForbidden, "only a reseller enrolls as an indirect reseller")
	}
	var body map[string]any
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	e, err := s.store.SubmitEnrollment(ctx, me.ID, workflows.EnrollmentWorkflowID(me.ID))
	resubmitted := err == nil
	if errors.Is(err, store.ErrConflict) {
		current, lerr := s.store.Enrollment(ctx, me.ID)
		if lerr != nil {
			return lerr
		}
		if current.Status == models.EnrollmentApproved {
			return problem(http.StatusConflict, CodeConflict, "your enrollment is already approved")
		}
		e = current // submitted already: answer as the first time did, and make sure its workflow runs
	} else if err != nil {
		return err
	}
	opts := startOptions(s.cfg.TemporalTaskQueue, e.WorkflowID, "Enrollment of "+me.Name,
		workflows.SearchKind.ValueSet(workflows.KindEnrollment), workflows.SearchStatus.ValueSet(models.EnrollmentSubmitted),
		workflows.SearchReseller.ValueSet(me.ID))
	// A rejected enrollment may be submitted again under the same workflow ID.
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	input := workflows.EnrollmentInput{
		Partner:       workflows.Party{ID: me.ID, Name: me.Name, Email: me.ContactEmail},
		OperatorEmail: s.cfg.OperatorEmail, RemindAfter: s.cfg.Timing.EnrollmentReminder,
		EscalateAfterBusinessDays: s.cfg.Timing.EnrollmentEscalation,
	}
	_, err = s.temporal.ExecuteWorkflow(ctx, opts, workflows.EnrollmentWorkflow, input)
	if alreadyStarted(err) && resubmitted {
		// The rejected run is still finishing (it tells the reseller); a new
		// submission must not be lost to it: wait for it to close, then start.
		waitCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_ = s.temporal.GetWorkflow(waitCtx, e.WorkflowID, "").Get(waitCtx, nil)
		cancel()
		_, err = s.temporal.ExecuteWorkflow(ctx, opts, workflows.EnrollmentWorkflow, input)
	}
	switch {
	case err == nil:
		s.metrics.OnboardingStarted(workflows.KindEnrollment)
	case !alreadyStarted(err):
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/me")
	return c.JSON(http.StatusAccepted, enrollmentView(e))
}

func enrollmentView(e models.Enrollment) map[string]any {
	out := map[string]any{"status": e.Status, "submitted_at": e.SubmittedAt, "workflow_id": e.WorkflowID}
	if e.DecidedAt != nil {
		out["decided_at"] = e.DecidedAt
	}
	if e.Reason != "" {
		out["reason"] = e.Reason
	}
	return out
}

// decideEnrollment: an operator approves or rejects (the route's last segment).
func (s *Server) decideEnrollment(c echo.Context) error {
	ctx := c.Request().Context()
	e, err := s.store.Enrollment(ctx, c.Param("partner_id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFoundProblem("enrollment")
	}
	if err != nil {
		return err
	}
	var req cancelRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	update := workflows.UpdateApprove
	if strings.HasSuffix(c.Path(), "/reject") {
		update = workflows.UpdateReject
		if strings.TrimSpace(req.Reason) == "" {
			return validationProblem([]FieldError{{Field: "reason", Message: "is required when rejecting: tell the reseller what to fix"}})
		}
	}
	if len(req.Reason) > 1000 || hasControl(req.Reason, true) {
		return validationProblem([]FieldError{{Field: "reason", Message: "must be at most 1000 characters of plain text"}})
	}
	if e.Status != models.EnrollmentSubmitted {
		return problem(http.StatusConflict, CodeConflict, "this enrollment is already "+e.Status)
	}
	var status string
	if err := s.update(c, e.WorkflowID, update, &status, workflows.Answer{Reason: req.Reason}); err != nil {
		return err
	}
	e.Status = status
	return c.JSON(http.StatusOK, enrollmentView(e))
}
