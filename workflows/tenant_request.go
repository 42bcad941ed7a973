package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/models"
)

// TenantRequestApproved is the short status between the provider's approval and completion.
const TenantRequestApproved = models.TenantRequestApproved

// TenantRequestWorkflowID reads as what it is.
func TenantRequestWorkflowID(id string) string { return models.TenantRequestLifecycle.WorkflowID(id) }

// TenantRequestInput starts a reseller's request for a new customer tenant.
type TenantRequestInput struct {
	RequestID   string
	Reseller    Party
	Provider    Party
	CompanyName string
	Domain      string
	Locale      string // the customer's language (i18n.Supported); empty: English
	Reminders   []time.Duration
	ExpireAfter time.Duration
}

// TenantApproval is the provider's answer: the tenant it created (optional).
type TenantApproval struct {
	TenantID string `json:"tenant_id,omitempty"`
}

// TenantRequestStatus answers the status query.
type TenantRequestStatus struct {
	RequestID      string    `json:"request_id"`
	Status         string    `json:"status"`
	Step           string    `json:"step"`
	ExpiresAt      time.Time `json:"expires_at"`
	CustomerID     string    `json:"customer_id,omitempty"`
	RelationshipID string    `json:"relationship_id,omitempty"`
}

// TenantRequestWorkflow waits for the provider to create the tenant (or
// reject) within its window, then registers the customer and runs
// relationship creation.
func TenantRequestWorkflow(ctx workflow.Context, in TenantRequestInput) (TenantRequestStatus, error) {
	t := tracker{kind: activities.KindTenantRequest, subjectID: in.RequestID, status: models.TenantRequestWaitingForProvider}
	wait := answerWait{start: workflow.Now(ctx), reminders: in.Reminders, expireAfter: in.ExpireAfter}
	st := TenantRequestStatus{RequestID: in.RequestID, ExpiresAt: wait.expiresAt().UTC()}
	status := func() TenantRequestStatus { s := st; s.Status, s.Step = t.status, t.step; return s }
	logger := log.With(workflow.GetLogger(ctx), "tenant_request_id", in.RequestID, "reseller_id", in.Reseller.ID)
	var dec decision
	var approval TenantApproval
	var rejection Answer
	var tenantID string
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (TenantRequestStatus, error) { return status(), nil }); err != nil {
		return status(), err
	}
	open := func(ctx workflow.Context) error {
		if dec.name != "" {
			return temporal.NewApplicationError("this tenant request was already "+dec.name, ErrTypeAlreadyDecided)
		}
		if !workflow.Now(ctx).Before(wait.expiresAt()) {
			return temporal.NewApplicationError("this tenant request has expired", ErrTypeExpired)
		}
		return nil
	}
	// recordDecision writes the provider's answer: from the update handler,
	// or from run() in executions older than read-your-writes. An approval
	// names the new customer and its tenant here, so that the answer's
	// "approved" is on the request when the provider reads it back.
	recordDecision := func(ctx workflow.Context) error {
		p := activities.Progress{Status: models.TenantRequestRejected, Event: "tenant_request_rejected", Details: map[string]string{"reason": rejection.Reason}}
		if dec.name == TenantRequestApproved {
			st.CustomerID = newID(ctx)
			if tenantID = approval.TenantID; tenantID == "" {
				tenantID = newID(ctx)
			}
			t.setStep(ctx, "Approved: registering the customer")
			p = activities.Progress{Status: TenantRequestApproved, Event: "tenant_created", Details: map[string]string{"tenant_id": tenantID}}
		} else {
			t.setStep(ctx, "Rejected by the provider")
		}
		if dec.inHandler {
			return t.decide(ctx, p)
		}
		return t.record(ctx, p)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove, func(ctx workflow.Context, a TenantApproval) (string, error) {
		approval = a
		return TenantRequestApproved, dec.take(ctx, TenantRequestApproved, func() bool { return wait.quiet }, recordDecision)
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, _ TenantApproval) error { return open(ctx) }}); err != nil {
		return status(), err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReject, func(ctx workflow.Context, a Answer) (string, error) {
		rejection = a
		return models.TenantRequestRejected, dec.take(ctx, models.TenantRequestRejected, func() bool { return wait.quiet }, recordDecision)
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, _ Answer) error { return open(ctx) }}); err != nil {
		return status(), err
	}
	var m *mailer
	finish := func() (TenantRequestStatus, error) {
		if m.async {
			if err := m.finish(ctx); err != nil {
				return status(), err
			}
		}
		return status(), workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
	notifyReseller := func(key string, kind emails.Kind, reason string) error {
		return m.sendNow(ctx, partnerNotice("tenant-request:"+in.RequestID+":"+key, in.Reseller, kind,
			emails.Data{Provider: in.Provider.Name, Customer: in.CompanyName, Reason: reason}))
	}

	m = newMailer(ctx, &t, logger)
	if err := t.record(ctx, activities.Progress{Status: models.TenantRequestWaitingForProvider, Event: "tenant_requested", Details: map[string]string{"domain": in.Domain, "provider_id": in.Provider.ID}}); err != nil {
		return status(), err
	}
	ask := emails.Data{Reseller: in.Reseller.Name, Customer: in.CompanyName, Domain: in.Domain, ID: in.RequestID, ExpiresAt: st.ExpiresAt}
	if err := m.send(ctx, partnerNotice("tenant-request:"+in.RequestID+":ask", in.Provider, emails.TenantRequest, ask), nil); err != nil {
		return status(), err
	}
	t.setStep(ctx, "Waiting for the provider to create the tenant, until "+st.ExpiresAt.Format(time.RFC3339))
	expired, err := waitForAnswer(ctx, &wait, func() bool { return dec.name != "" }, never, nothing, func(n int) error {
		reminder := ask
		reminder.Reminder = true
		return m.send(ctx, partnerNotice(fmt.Sprintf("tenant-request:%s:reminder:%d", in.RequestID, n), in.Provider, emails.TenantRequest, reminder), func(ctx workflow.Context) error {
			return t.record(ctx, activities.Progress{Event: "reminder_sent", Details: map[string]string{"reminder": fmt.Sprint(n)}})
		})
	})
	if err != nil {
		return status(), err
	}
	recorded, err := dec.settled(ctx)
	if err == nil && !expired && !recorded {
		err = recordDecision(ctx)
	}
	if err != nil {
		return status(), err
	}
	switch {
	case expired:
		t.setStep(ctx, "Expired: the provider did not answer in time")
		if err := t.record(ctx, activities.Progress{Status: models.TenantRequestExpired, Event: "tenant_request_expired", Details: map[string]string{"reason": "the provider did not answer within the window"}}); err != nil {
			return status(), err
		}
		if err := notifyReseller("expired", emails.TenantRequestExpired, ""); err != nil {
			return status(), err
		}
		return finish()
	case dec.name == models.TenantRequestRejected:
		if err := notifyReseller("rejected", emails.TenantRequestRejected, rejection.Reason); err != nil {
			return status(), err
		}
		return finish()
	}

	fail := func(cause error) (TenantRequestStatus, error) {
		logger.Error("Tenant request failed", "error", cause)
		t.setStep(ctx, "Failed: "+rootMessage(cause))
		if err := t.record(ctx, activities.Progress{Status: models.TenantRequestFailed, Event: "failed", Details: map[string]string{"reason": rootMessage(cause)}}); err != nil {
			return status(), err
		}
		return status(), cause
	}
	if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.CreateTenantCustomer, activities.TenantCustomerInput{
		RequestID: in.RequestID, CustomerID: st.CustomerID, TenantID: tenantID,
	}).Get(ctx, nil); err != nil {
		return fail(err)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchCustomer.ValueSet(st.CustomerID)); err != nil {
		return status(), err
	}
	t.setStep(ctx, "Creating the reseller relationship")
	result, err := runRelationship(ctx, RelationshipInput{
		RelationshipID: newID(ctx), Source: models.SourceTenantRequest, SourceID: in.RequestID,
		Reseller: in.Reseller, Provider: in.Provider, CustomerID: st.CustomerID, CustomerName: in.CompanyName,
	}, "Relationship for tenant request "+in.RequestID)
	if err != nil {
		return fail(err)
	}
	st.RelationshipID = result.RelationshipID
	t.setStep(ctx, "Completed: the customer and its relationship exist")
	if err := t.record(ctx, activities.Progress{Status: models.TenantRequestCompleted, Event: "relationship_created",
		CustomerID: st.CustomerID, RelationshipID: result.RelationshipID,
		Details: map[string]string{"customer_id": st.CustomerID, "relationship_id": result.RelationshipID}}); err != nil {
		return status(), err
	}
	logger.Info("Tenant request completed", "customer_id", st.CustomerID)
	return finish()
}
