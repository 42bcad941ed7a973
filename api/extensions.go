package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/i18n"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// extensionStore is what the extension handlers read and write, with what
// the extension gates read (rules.Store).
type extensionStore interface {
	rules.Store
	ConsentForExtension(ctx context.Context, extensionID string) (models.ConsentRecord, error)
	Customer(ctx context.Context, id string) (models.Customer, error)
	Extension(ctx context.Context, id string) (models.RelationshipExtension, error)
	ListExtensions(ctx context.Context, partnerID, status string, page store.Page) ([]models.RelationshipExtension, string, error)
	SetExtensionStatus(ctx context.Context, id, status, consentID, relationshipID string) error
}

func extensionView(x models.RelationshipExtension, consent *models.ConsentRecord) oapi.Extension {
	v := oapi.Extension{Id: x.ID, Status: oapi.ExtensionStatus(x.Status), WorkflowId: x.WorkflowID, CustomerId: x.CustomerID, ProviderId: x.ProviderID,
		ResellerId: x.ResellerID, Locale: oapi.Locale(x.Locale), RelationshipId: valueOf(x.RelationshipID), ExpiresAt: x.ExpiresAt, CreatedAt: x.CreatedAt}
	v.Consent.Method, v.Consent.Status = x.ConsentMethod, "pending"
	switch {
	case consent != nil:
		v.Consent.Status, v.Consent.Id, v.Consent.ObtainedAt, v.Consent.RecordedAt = "recorded", consent.ID, consent.ObtainedAt, consent.CreatedAt
		v.Consent.SignerName, v.Consent.SignerEmail = consent.SignerName, consent.SignerEmail
		v.Consent.Identity = oapi.ExtensionConsentIdentity(models.ConsentIdentity(*consent))
	case x.Status != models.ExtensionWaitingForConsent:
		v.Consent.Status = "none"
	}
	return v
}

// CreateExtension starts a relationship extension after every gate (R1–R6) passed.
func (s *Server) CreateExtension(ctx context.Context, request oapi.CreateExtensionRequestObject) (oapi.CreateExtensionResponseObject, error) {
	me, req := currentPartner(ctx), request.Body
	x, err := create(ctx, s, createRequest{me.ID, request.Params.IdempotencyKey, "create-extension", req}, models.ExtensionLifecycle, s.store.Extension,
		func(id string, now time.Time) (models.RelationshipExtension, func(models.RelationshipExtension) startPlan, error) {
			return s.newExtension(ctx, me, req, id, now)
		})
	if errors.Is(err, store.ErrConflict) {
		return nil, problem(http.StatusConflict, CodeConflict, "an extension for this customer and provider already waits for consent")
	}
	if err != nil {
		return nil, err
	}
	return oapi.CreateExtension202JSONResponse{Body: extensionView(x, nil),
		Headers: oapi.CreateExtension202ResponseHeaders{Location: "/v1/relationship-extensions/" + x.ID}}, nil
}

// newExtension checks an extension request (its fields, R1–R6) and builds
// its row, started with the parties the rules loaded.
func (s *Server) newExtension(ctx context.Context, me models.Partner, req *oapi.CreateExtensionJSONRequestBody, id string, now time.Time) (
	x models.RelationshipExtension, plan func(models.RelationshipExtension) startPlan, err error) {
	var f fieldErrors
	if strings.TrimSpace(req.CustomerId) == "" {
		f.add("customer_id", "is required")
	}
	if strings.TrimSpace(req.ProviderId) == "" {
		f.add("provider_id", "is required")
	}
	if err := f.err(); err != nil {
		return x, nil, err
	}
	parties, err := rules.CheckExtension(ctx, s.store, rules.Extension{ResellerID: me.ID, ProviderID: req.ProviderId, CustomerID: req.CustomerId,
		ShareBillTo: req.ShareBillTo, DelegatedAdminRequired: req.DelegatedAdminRequired})
	if err != nil {
		return x, nil, err
	}
	method := string(req.Consent.Method)
	if method == "" {
		method = models.ConsentCustomerConfirmation
	}
	attestation, err := s.attestation(method, req)
	if err != nil {
		return x, nil, err
	}
	provider, customer := parties.Provider, *parties.Customer
	ms, err := s.atMicrosoft(ctx, "the extension is made in Partner Center", me, provider)
	if err != nil {
		return x, nil, err
	}
	x = models.RelationshipExtension{ID: id, ResellerTenantID: ms.ResellerTenantID, ProviderTenantID: ms.ProviderTenantID, ResellerID: me.ID, ProviderID: provider.ID, CustomerID: customer.ID,
		Status: models.ExtensionWaitingForConsent, ConsentMethod: method, Attestation: attestation, Locale: i18n.Choose(string(req.Locale), me.Locale), WorkflowID: workflows.ExtensionWorkflowID(id),
		ExpiresAt: now.Add(s.cfg.Timing.ConsentExpiry), CreatedAt: now, UpdatedAt: now}
	return x, func(x models.RelationshipExtension) startPlan { return s.extensionPlanOf(x, me, provider, customer) }, nil
}

// attestation checks a partner's attested consent (R6); nil for the
// customer's own confirmation.
func (s *Server) attestation(method string, req *oapi.CreateExtensionJSONRequestBody) (*models.Attestation, error) {
	if method != models.ConsentPartnerAttestation {
		return nil, nil
	}
	c := req.Consent
	a := rules.Attestation{SignerName: c.SignerName, SignerEmail: c.SignerEmail, Evidence: c.Evidence, ObtainedAt: c.ObtainedAt.UTC()}
	if err := rules.CheckAttestation(a, time.Now(), s.cfg.AllowConsentAttestation); err != nil {
		return nil, err
	}
	return &models.Attestation{SignerName: a.SignerName, SignerEmail: a.SignerEmail, ObtainedAt: a.ObtainedAt, Evidence: strings.TrimSpace(a.Evidence)}, nil
}

// extensionPlan plans an extension's start from its row.
func (s *Server) extensionPlan(ctx context.Context, x models.RelationshipExtension) (startPlan, error) {
	reseller, provider, err := s.partners(ctx, x.ResellerID, x.ProviderID)
	if err != nil {
		return startPlan{}, err
	}
	customer, err := s.store.Customer(ctx, x.CustomerID)
	if err != nil {
		return startPlan{}, err
	}
	return s.extensionPlanOf(x, reseller, provider, customer), nil
}

func (s *Server) extensionPlanOf(x models.RelationshipExtension, reseller, provider models.Partner, customer models.Customer) startPlan {
	input := workflows.ExtensionInput{
		ExtensionID: x.ID, Reseller: party(reseller), Provider: party(provider),
		CustomerID: customer.ID, CustomerName: customer.CompanyName, CustomerEmail: customer.ContactEmail, Locale: x.Locale,
		Method: x.ConsentMethod, Reminders: s.cfg.Timing.ConsentReminders, ExpireAfter: x.ExpiresAt.Sub(x.CreatedAt),
	}
	if x.ResellerTenantID != "" && x.ProviderTenantID != "" {
		input.Microsoft = &workflows.ExtensionAtMicrosoft{ResellerTenantID: x.ResellerTenantID, ProviderTenantID: x.ProviderTenantID,
			CustomerTenantID: customer.TenantID, CustomerDomain: cmp.Or(customer.Domain, models.EmailDomain(customer.ContactEmail)),
			FirstPoll: s.cfg.Timing.PartnerCenterFirstPoll}
	}
	p := startPlan{kind: workflows.KindExtension, subjectID: x.ID,
		opts: startOptions(s.cfg.TemporalTaskQueue, x.WorkflowID, "Extension of "+customer.CompanyName+" to "+provider.Name,
			workflows.SearchKind.ValueSet(workflows.KindExtension), workflows.SearchStatus.ValueSet(models.ExtensionWaitingForConsent),
			workflows.SearchReseller.ValueSet(reseller.ID), workflows.SearchProvider.ValueSet(provider.ID), workflows.SearchCustomer.ValueSet(customer.ID)),
		workflow: workflows.ExtensionWorkflow, input: input,
		abandon: func(ctx context.Context, reason string) error {
			if err := s.store.SetExtensionStatus(ctx, x.ID, models.ExtensionFailed, "", ""); err != nil {
				return err
			}
			return s.startFailed(ctx, x.ID, reason)
		},
	}
	if a := x.Attestation; a != nil {
		input.Attestation = &workflows.Attestation{SignerName: a.SignerName, SignerEmail: a.SignerEmail, ObtainedAt: a.ObtainedAt, Evidence: a.Evidence}
		p.input = input
	} else if x.ConsentMethod == models.ConsentPartnerAttestation {
		// Written by a version that did not keep the attestation with the row.
		p.refuse = "the attestation was not kept with this extension, so it could not be started; create it again"
	}
	return p
}

func (s *Server) visibleExtension(ctx context.Context, id string) (models.RelationshipExtension, error) {
	return partyTo(ctx, id, "relationship extension", s.store.Extension, func(x models.RelationshipExtension) (string, string) { return x.ResellerID, x.ProviderID })
}

func (s *Server) GetExtension(ctx context.Context, request oapi.GetExtensionRequestObject) (oapi.GetExtensionResponseObject, error) {
	x, err := s.visibleExtension(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	var consent *models.ConsentRecord
	if rec, err := s.store.ConsentForExtension(ctx, x.ID); err == nil {
		consent = &rec
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	out := extensionView(x, consent)
	if out.Events, err = s.timeline(ctx, x.ID, x.ResellerID); err != nil {
		return nil, err
	}
	return oapi.GetExtension200JSONResponse{ExtensionBodyJSONResponse: oapi.ExtensionBodyJSONResponse(out)}, nil
}

func (s *Server) ListExtensions(ctx context.Context, request oapi.ListExtensionsRequestObject) (oapi.ListExtensionsResponseObject, error) {
	p := request.Params
	items, next, err := listByStatus(ctx, string(p.Status), p.Limit, p.Cursor, models.ExtensionLifecycle, s.store.ListExtensions)
	if err != nil {
		return nil, err
	}
	return oapi.ListExtensions200JSONResponse{Items: views(items, func(x models.RelationshipExtension) oapi.Extension { return extensionView(x, nil) }), NextCursor: next}, nil
}

// CancelExtension: the reseller withdraws an extension still waiting for consent.
func (s *Server) CancelExtension(ctx context.Context, request oapi.CancelExtensionRequestObject) (oapi.CancelExtensionResponseObject, error) {
	x, err := s.visibleExtension(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	if x.ResellerID != currentPartner(ctx).ID {
		return nil, problem(http.StatusForbidden, CodeForbidden, "only the reseller that asked can cancel an extension")
	}
	reason := request.Body.Reason
	if err := validReason(reason, 500); err != nil {
		return nil, err
	}
	var status string
	if err := s.update(ctx, x.WorkflowID, workflows.UpdateCancel, &status, workflows.Answer{Reason: reason}); err != nil {
		p := toProblem(err)
		if p.Status == http.StatusConflict {
			p.Detail = "the extension no longer waits for consent: " + p.Detail
		}
		return nil, p
	}
	x.Status = status
	return oapi.CancelExtension200JSONResponse{ExtensionBodyJSONResponse: oapi.ExtensionBodyJSONResponse(extensionView(x, nil))}, nil
}
