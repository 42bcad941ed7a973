package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/i18n"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// invitationStore is what the invitation handlers read and write, with what
// the invitation checks read (rules.Store).
type invitationStore interface {
	rules.Store
	Events(ctx context.Context, subjectID string) ([]models.OnboardingEvent, error)
	Invitation(ctx context.Context, id string) (models.Invitation, error)
	ListInvitations(ctx context.Context, resellerID, status string, page store.Page) ([]models.Invitation, string, error)
	SetInvitationStatus(ctx context.Context, id, status string, relationshipID string) error
}

// delegatedAdminRequest is the request's delegated admin ask, nil when absent.
func delegatedAdminRequest(d oapi.DelegatedAdminRequest) *models.DelegatedAdminRequest {
	if len(d.Roles) == 0 && d.DurationDays == 0 && !d.AutoExtend {
		return nil
	}
	return &models.DelegatedAdminRequest{Roles: d.Roles, DurationDays: d.DurationDays, AutoExtend: d.AutoExtend}
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
		var rf fieldErrors
		rf.requireName(field, r, 100)
		if len(rf) > 0 {
			f.add(field, "must be a role name of at most 100 characters of plain text, without links")
			continue
		}
		resolveRole(f, field, &d.Roles[i], seen)
	}
	if d.DurationDays < 1 || d.DurationDays > 730 {
		f.add("delegated_admin.duration_days", "must be from 1 to 730 days")
	}
	if d.AutoExtend && roles.HasGlobalAdministrator(d.Roles) {
		f.add("delegated_admin.auto_extend", "cannot be used with the Global Administrator role")
	}
}

func invitationView(inv models.Invitation) oapi.Invitation {
	v := oapi.Invitation{
		Id: inv.ID, Status: oapi.InvitationStatus(inv.Status), WorkflowId: inv.WorkflowID, ProviderId: inv.ProviderID, ResellerId: inv.ResellerID,
		CustomerId: valueOf(inv.CustomerID), ContactEmailReason: inv.ContactEmailReason, Message: inv.Message, Locale: oapi.Locale(inv.Locale), RelationshipId: valueOf(inv.RelationshipID),
		ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt,
	}
	v.Customer.CompanyName, v.Customer.Email = inv.CustomerCompany, inv.CustomerEmail
	if d := inv.DelegatedAdmin; d != nil {
		v.DelegatedAdmin = oapi.DelegatedAdminAsk{DurationDays: d.DurationDays, AutoExtend: d.AutoExtend}
		v.DelegatedAdmin.Roles, v.DelegatedAdmin.RoleIds = roleView(d.Roles)
	}
	return v
}

// timeline is an onboarding's events, as answered in its GET. The
// customer's address and user agent (recorded when it answered a link) are
// personal data kept as consent evidence: only the reseller, the partner
// that asked the customer, sees them; the provider sees that and when.
func (s *Server) timeline(ctx context.Context, subjectID, resellerID string) ([]oapi.Event, error) {
	events, err := s.store.Events(ctx, subjectID)
	if err != nil {
		return nil, err
	}
	return toEvents(visibleDetails(ctx, events, resellerID)), nil
}

// visibleDetails hides the customer's address and browser from everyone but
// the reseller, whose customer answered.
func visibleDetails(ctx context.Context, events []models.OnboardingEvent, resellerID string) []models.OnboardingEvent {
	if currentPartner(ctx).ID != resellerID {
		for i := range events {
			events[i].Details = withoutClientDetails(events[i].Details)
		}
	}
	return events
}

func withoutClientDetails(d map[string]string) map[string]string {
	out := make(map[string]string, len(d))
	for k, v := range d {
		if k != "ip" && k != "user_agent" {
			out[k] = v
		}
	}
	return out
}

func toEvents(events []models.OnboardingEvent) []oapi.Event {
	out := make([]oapi.Event, 0, len(events))
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

// validateInvitation checks what the schema cannot: the either/or customer,
// plain text, e-mail addresses and the delegated admin ask.
func validateInvitation(req *oapi.CreateInvitationJSONRequestBody) error {
	var f fieldErrors
	if strings.TrimSpace(req.ProviderId) == "" {
		f.add("provider_id", "is required")
	}
	switch cust := req.Customer; {
	case cust.CustomerId != "":
		if cust.Email != "" || cust.CompanyName != "" {
			f.add("customer", "give either customer_id or company_name and email, not both")
		}
	default:
		f.requireName("customer.company_name", cust.CompanyName, 200)
		f.requireEmail("customer.email", cust.Email)
	}
	validateMessage(&f, req.Message)
	validateDelegatedAdmin(&f, delegatedAdminRequest(req.DelegatedAdmin))
	return f.err()
}

// CreateInvitation: a reseller invites a customer to a relationship with it and one of its providers.
func (s *Server) CreateInvitation(ctx context.Context, request oapi.CreateInvitationRequestObject) (oapi.CreateInvitationResponseObject, error) {
	me, req := currentPartner(ctx), request.Body
	if me.Type != models.PartnerTypeReseller {
		return nil, problem(http.StatusForbidden, CodeForbidden, "only a reseller sends customer invitations")
	}
	inv, err := create(ctx, s, createRequest{me.ID, request.Params.IdempotencyKey, "create-invitation", req}, models.InvitationLifecycle, s.store.Invitation,
		func(id string, now time.Time) (models.Invitation, func(models.Invitation) startPlan, error) {
			return s.newInvitation(ctx, me, req, id, now)
		})
	if err != nil {
		return nil, err
	}
	return oapi.CreateInvitation202JSONResponse{Body: invitationView(inv),
		Headers: oapi.CreateInvitation202ResponseHeaders{Location: "/v1/invitations/" + inv.ID}}, nil
}

// newInvitation checks an invitation request (its fields, the partnership,
// the customer) and builds its row, started with the provider the rules loaded.
func (s *Server) newInvitation(ctx context.Context, me models.Partner, req *oapi.CreateInvitationJSONRequestBody, id string, now time.Time) (
	inv models.Invitation, plan func(models.Invitation) startPlan, err error) {
	if err := validateInvitation(req); err != nil {
		return inv, nil, err
	}
	if err := s.checkMicrosoftConnected(ctx, me, delegatedAdminRequest(req.DelegatedAdmin)); err != nil {
		return inv, nil, err
	}
	parties, err := rules.CheckInvitation(ctx, s.store, rules.Invitation{Reseller: me, ProviderID: req.ProviderId, CustomerID: req.Customer.CustomerId,
		Contact: rules.Contact{Email: req.Customer.Email, Reason: req.ContactEmailReason}})
	if err != nil {
		return inv, nil, err
	}
	provider := parties.Provider
	ms, err := s.atMicrosoft(ctx, "the customer accepts the reseller relationship at Microsoft", me, provider)
	if err != nil {
		return inv, nil, err
	}
	inv = models.Invitation{MicrosoftAcceptURL: ms.AcceptURL, ID: id, WorkflowID: workflows.InvitationWorkflowID(id), ResellerID: me.ID, ProviderID: provider.ID,
		Message: req.Message, Locale: i18n.Choose(string(req.Locale), me.Locale), DelegatedAdmin: delegatedAdminRequest(req.DelegatedAdmin),
		ContactEmailReason: strings.TrimSpace(req.ContactEmailReason),
		Status:             models.InvitationWaitingForCustomer, ExpiresAt: now.Add(s.cfg.Timing.InvitationExpiry), CreatedAt: now, UpdatedAt: now}
	if cust := parties.Customer; cust != nil {
		inv.CustomerID, inv.CustomerCompany, inv.CustomerEmail = &cust.ID, cust.CompanyName, cust.ContactEmail
		if ms.AcceptURL != "" {
			inv.CustomerTenantID = strings.ToLower(cust.TenantID)
		}
	} else {
		inv.CustomerCompany, inv.CustomerEmail = strings.TrimSpace(req.Customer.CompanyName), req.Customer.Email
	}
	return inv, func(inv models.Invitation) startPlan { return s.invitationPlanOf(inv, me, provider) }, nil
}

// checkMicrosoftConnected refuses a delegated admin ask that could only
// fail later: in live and simulated mode the grant is made with the
// reseller's own app registration, so it must be recorded first.
func (s *Server) checkMicrosoftConnected(ctx context.Context, reseller models.Partner, ask *models.DelegatedAdminRequest) error {
	if ask == nil || s.cfg.Microsoft.Mode == config.MicrosoftOff {
		return nil
	}
	_, err := s.store.MicrosoftConnection(ctx, reseller.ID)
	if errors.Is(err, store.ErrNotFound) {
		return problem(http.StatusConflict, CodeConflict, "delegated admin is granted at Microsoft with your own app registration, and none is recorded: "+
			"PUT /v1/me/microsoft-connection first (README, \"Delegated admin at Microsoft (GDAP)\"), or invite without delegated_admin")
	}
	return err
}

// atMicrosoft is what a relationship made at Microsoft needs from its two
// partners (live and simulated mode): their tenants, from their Microsoft
// connections, and Microsoft's acceptance link built from them. The
// provider's connection is also the one that reads Partner Center.
type atMicrosoft struct {
	ResellerTenantID, ProviderTenantID, AcceptURL string
}

// atMicrosoft is the zero value in off mode; a partner without a Microsoft
// connection is refused 409 (what says what needs it), nothing recorded.
func (s *Server) atMicrosoft(ctx context.Context, what string, reseller, provider models.Partner) (atMicrosoft, error) {
	if s.cfg.Microsoft.Mode == config.MicrosoftOff {
		return atMicrosoft{}, nil
	}
	var tenants []string
	for _, p := range []models.Partner{reseller, provider} {
		c, err := s.store.MicrosoftConnection(ctx, p.ID)
		if errors.Is(err, store.ErrNotFound) {
			return atMicrosoft{}, problem(http.StatusConflict, CodeConflict, fmt.Sprintf("%s (MICROSOFT_MODE=%s), which needs the %s's Microsoft connection, "+
				"and %s has none: PUT /v1/me/microsoft-connection as %s first (README, \"The customer's acceptance at Microsoft\")",
				what, s.cfg.Microsoft.Mode, p.Type, p.Name, p.Name))
		}
		if err != nil {
			return atMicrosoft{}, err
		}
		tenants = append(tenants, c.TenantID)
	}
	return atMicrosoft{ResellerTenantID: tenants[0], ProviderTenantID: tenants[1],
		AcceptURL: partnercenter.ResellerRelationshipLink(s.cfg.Microsoft.AdminCenterURL, tenants[0], tenants[1])}, nil
}

// resellerRelationshipRequest is the workflow's side of the row's
// acceptance at Microsoft (nil in off mode).
func resellerRelationshipRequest(inv models.Invitation, firstPoll time.Duration) *workflows.ResellerRelationshipRequest {
	reseller, provider, ok := partnercenter.ParseResellerRelationshipLink(inv.MicrosoftAcceptURL)
	if !ok {
		return nil
	}
	return &workflows.ResellerRelationshipRequest{AcceptURL: inv.MicrosoftAcceptURL, ResellerTenantID: reseller, ProviderTenantID: provider,
		CustomerTenantID: inv.CustomerTenantID, FirstPoll: firstPoll}
}

// invitationPlan plans an invitation's start from its row.
func (s *Server) invitationPlan(ctx context.Context, inv models.Invitation) (startPlan, error) {
	reseller, provider, err := s.partners(ctx, inv.ResellerID, inv.ProviderID)
	if err != nil {
		return startPlan{}, err
	}
	return s.invitationPlanOf(inv, reseller, provider), nil
}

func (s *Server) invitationPlanOf(inv models.Invitation, reseller, provider models.Partner) startPlan {
	attrs := []temporal.SearchAttributeUpdate{workflows.SearchKind.ValueSet(workflows.KindInvitation),
		workflows.SearchStatus.ValueSet(models.InvitationWaitingForCustomer),
		workflows.SearchReseller.ValueSet(reseller.ID), workflows.SearchProvider.ValueSet(provider.ID)}
	input := workflows.InvitationInput{
		InvitationID: inv.ID, Reseller: party(reseller), Provider: party(provider),
		CustomerCompany: inv.CustomerCompany, CustomerEmail: inv.CustomerEmail,
		Message: inv.Message, Locale: inv.Locale, DelegatedAdmin: inv.DelegatedAdmin, ContactEmailReason: inv.ContactEmailReason,
		Reminders: s.cfg.Timing.InvitationReminders, ExpireAfter: inv.ExpiresAt.Sub(inv.CreatedAt),
		Microsoft: resellerRelationshipRequest(inv, s.cfg.Timing.PartnerCenterFirstPoll),
	}
	if inv.CustomerID != nil {
		attrs = append(attrs, workflows.SearchCustomer.ValueSet(*inv.CustomerID))
		input.CustomerID = *inv.CustomerID
	}
	return startPlan{kind: workflows.KindInvitation, subjectID: inv.ID,
		opts:     startOptions(s.cfg.TemporalTaskQueue, inv.WorkflowID, "Invitation of "+inv.CustomerEmail+" by "+reseller.Name, attrs...),
		workflow: workflows.InvitationWorkflow, input: input,
		abandon: func(ctx context.Context, reason string) error {
			if err := s.store.SetInvitationStatus(ctx, inv.ID, models.InvitationFailed, ""); err != nil {
				return err
			}
			return s.startFailed(ctx, inv.ID, reason)
		},
	}
}

func alreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

// visibleInvitation loads an invitation the calling partner is party to.
func (s *Server) visibleInvitation(ctx context.Context, id string) (models.Invitation, error) {
	return partyTo(ctx, id, "invitation", s.store.Invitation, func(i models.Invitation) (string, string) { return i.ResellerID, i.ProviderID })
}

func (s *Server) GetInvitation(ctx context.Context, request oapi.GetInvitationRequestObject) (oapi.GetInvitationResponseObject, error) {
	inv, err := s.visibleInvitation(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	out, err := s.invitationWithTimeline(ctx, inv)
	if err != nil {
		return nil, err
	}
	return oapi.GetInvitation200JSONResponse{InvitationBodyJSONResponse: oapi.InvitationBodyJSONResponse(out)}, nil
}

func (s *Server) invitationWithTimeline(ctx context.Context, inv models.Invitation) (oapi.Invitation, error) {
	out := invitationView(inv)
	events, err := s.store.Events(ctx, inv.ID)
	if err != nil {
		return out, err
	}
	out.EmailDelivery = emailDelivery(events)
	out.Events = toEvents(visibleDetails(ctx, events, inv.ResellerID))
	return out, nil
}

// emailDelivery reads what became of the latest e-mail to the customer from
// the timeline: the workflow records each delivery and each final failure.
func emailDelivery(events []models.OnboardingEvent) oapi.EmailDelivery {
	d := oapi.EmailDelivery{State: "pending"}
	for _, e := range events {
		switch e.Type {
		case "invitation_sent", "invitation_resent", "reminder_sent":
			d = oapi.EmailDelivery{State: "sent", To: e.Details["to"], At: e.At}
		case "email_failed":
			d = oapi.EmailDelivery{State: "failed", To: e.Details["to"], Reason: e.Details["reason"], Message: e.Details["message"], At: e.At}
		}
	}
	return d
}

// UpdateInvitation corrects the customer's address of a waiting invitation;
// later e-mails (a resend, the reminders) go to it.
func (s *Server) UpdateInvitation(ctx context.Context, request oapi.UpdateInvitationRequestObject) (oapi.UpdateInvitationResponseObject, error) {
	inv, err := s.ownInvitation(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	email := request.Body.Customer.Email
	var f fieldErrors
	f.requireEmail("customer.email", email)
	if err := f.err(); err != nil {
		return nil, err
	}
	provider, err := s.store.Partner(ctx, inv.ProviderID)
	if err != nil {
		return nil, err
	}
	// The reason given at creation covers the correction too: it is the reseller's statement about this customer.
	if err := rules.CheckContact(rules.Contact{Email: email, Reason: inv.ContactEmailReason}, currentPartner(ctx), provider); err != nil {
		return nil, err
	}
	var changed string
	if err := s.update(ctx, inv.WorkflowID, workflows.UpdateChangeEmail, &changed, workflows.EmailChange{Email: email}); err != nil {
		return nil, s.closedInvitation(err)
	}
	if inv, err = s.store.Invitation(ctx, inv.ID); err != nil {
		return nil, err
	}
	out, err := s.invitationWithTimeline(ctx, inv)
	if err != nil {
		return nil, err
	}
	return oapi.UpdateInvitation200JSONResponse{InvitationBodyJSONResponse: oapi.InvitationBodyJSONResponse(out)}, nil
}

func (s *Server) ListInvitations(ctx context.Context, request oapi.ListInvitationsRequestObject) (oapi.ListInvitationsResponseObject, error) {
	p := request.Params
	items, next, err := listByStatus(ctx, string(p.Status), p.Limit, p.Cursor, models.InvitationLifecycle, s.store.ListInvitations)
	if err != nil {
		return nil, err
	}
	return oapi.ListInvitations200JSONResponse{Items: views(items, invitationView), NextCursor: next}, nil
}

// validReason checks an optional free-text reason: it reaches the other
// party's e-mail or timeline, so it is plain text without links.
func validReason(reason string, max int) error {
	return checkReason(reason, max, false)
}

// checkReason checks a reason, required or not.
func checkReason(reason string, max int, required bool) error {
	var f fieldErrors
	f.checkText("reason", reason, textRules{required: required, max: max, multiline: true, emails: true})
	return f.err()
}

// CancelInvitation: the reseller withdraws an invitation that still waits.
func (s *Server) CancelInvitation(ctx context.Context, request oapi.CancelInvitationRequestObject) (oapi.CancelInvitationResponseObject, error) {
	inv, err := s.ownInvitation(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	reason := request.Body.Reason
	if err := validReason(reason, 500); err != nil {
		return nil, err
	}
	var status string
	if err := s.update(ctx, inv.WorkflowID, workflows.UpdateCancel, &status, workflows.Answer{Reason: reason}); err != nil {
		return nil, s.closedInvitation(err)
	}
	inv.Status = status
	return oapi.CancelInvitation200JSONResponse{InvitationBodyJSONResponse: oapi.InvitationBodyJSONResponse(invitationView(inv))}, nil
}

// ResendInvitation sends the invitation e-mail again, with a fresh link.
func (s *Server) ResendInvitation(ctx context.Context, request oapi.ResendInvitationRequestObject) (oapi.ResendInvitationResponseObject, error) {
	inv, err := s.ownInvitation(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	var n int
	if err := s.update(ctx, inv.WorkflowID, workflows.UpdateResend, &n); err != nil {
		return nil, s.closedInvitation(err)
	}
	return oapi.ResendInvitation202JSONResponse{Id: inv.ID, Status: inv.Status, Resend: n}, nil
}

func (s *Server) ownInvitation(ctx context.Context, id string) (models.Invitation, error) {
	inv, err := s.visibleInvitation(ctx, id)
	if err != nil {
		return inv, err
	}
	if inv.ResellerID != currentPartner(ctx).ID {
		return inv, problem(http.StatusForbidden, CodeForbidden, "only the inviting reseller can change an invitation")
	}
	return inv, nil
}

// closedInvitation explains a rejected update on an invitation that no longer waits.
func (s *Server) closedInvitation(err error) error {
	p := toProblem(err)
	if p.Status == http.StatusConflict {
		p.Detail = "the invitation no longer waits for the customer: " + p.Detail
	}
	return p
}
