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

type tenantRequest struct {
	onboarding
	in        TenantRequestInput
	wait      answerWait
	st        TenantRequestStatus
	decision  decision
	approval  TenantApproval
	rejection Answer
	tenantID  string
	// relationshipID is minted with the customer's in the lean shape.
	relationshipID string
	// ids: the customer's, the tenant's and the relationship's, minted in the
	// first workflow task (lean shape; see mintStepIDs).
	ids []string
}

// TenantRequestWorkflow waits for the provider to create the tenant (or
// reject) within its window, then registers the customer and runs
// relationship creation.
func TenantRequestWorkflow(ctx workflow.Context, in TenantRequestInput) (TenantRequestStatus, error) {
	w := &tenantRequest{in: in}
	if err := w.setup(ctx); err != nil {
		return w.status(), err
	}
	return w.run(ctx)
}

func (w *tenantRequest) status() TenantRequestStatus {
	s := w.st
	s.Status, s.Step = w.t.status, w.t.step
	return s
}

func (w *tenantRequest) setup(ctx workflow.Context) error {
	w.t = tracker{kind: activities.KindTenantRequest, subjectID: w.in.RequestID, status: models.TenantRequestWaitingForProvider, lean: leanShape(ctx)}
	w.decision.lean = w.t.lean
	w.wait = answerWait{start: workflow.Now(ctx), reminders: w.in.Reminders, expireAfter: w.in.ExpireAfter}
	w.st = TenantRequestStatus{RequestID: w.in.RequestID, ExpiresAt: w.wait.expiresAt().UTC()}
	w.logger = log.With(workflow.GetLogger(ctx), "tenant_request_id", w.in.RequestID, "reseller_id", w.in.Reseller.ID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (TenantRequestStatus, error) { return w.status(), nil }); err != nil {
		return err
	}
	quiet := func() bool { return w.wait.quiet }
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove, func(ctx workflow.Context, a TenantApproval) (string, error) {
		w.approval = a
		return TenantRequestApproved, w.decision.take(ctx, TenantRequestApproved, quiet, w.recordDecision)
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, _ TenantApproval) error { return w.open(ctx) }}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateReject, func(ctx workflow.Context, a Answer) (string, error) {
		w.rejection = a
		return models.TenantRequestRejected, w.decision.take(ctx, models.TenantRequestRejected, quiet, w.recordDecision)
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, _ Answer) error { return w.open(ctx) }})
}

// open validates an answer: the first, before the request expires.
func (w *tenantRequest) open(ctx workflow.Context) error {
	if w.decision.name != "" {
		return temporal.NewApplicationError("this tenant request was already "+w.decision.name, ErrTypeAlreadyDecided)
	}
	if !workflow.Now(ctx).Before(w.wait.expiresAt()) {
		return temporal.NewApplicationError("this tenant request has expired", ErrTypeExpired)
	}
	return nil
}

// recordDecision writes the provider's answer: from the update handler, or
// from run() in executions older than read-your-writes. An approval names the
// new customer and its tenant here, so that the answer's "approved" is on the
// request when the provider reads it back.
func (w *tenantRequest) recordDecision(ctx workflow.Context) error {
	p := activities.Progress{Status: models.TenantRequestRejected, Event: "tenant_request_rejected", Details: map[string]string{"reason": w.rejection.Reason}}
	if w.decision.name == TenantRequestApproved {
		if w.t.lean {
			w.st.CustomerID, w.relationshipID = w.ids[0], w.ids[2]
			if w.tenantID = w.approval.TenantID; w.tenantID == "" {
				w.tenantID = w.ids[1]
			}
		} else {
			w.st.CustomerID = newID(ctx)
			if w.tenantID = w.approval.TenantID; w.tenantID == "" {
				w.tenantID = newID(ctx)
			}
		}
		w.t.setStep(ctx, "Approved: registering the customer")
		p = activities.Progress{Status: TenantRequestApproved, Event: "tenant_created", Details: map[string]string{"tenant_id": w.tenantID}}
	} else {
		w.t.setStep(ctx, "Rejected by the provider")
	}
	switch {
	case w.decision.inHandler && w.t.lean && w.decision.name == TenantRequestApproved:
		// The customer and the relationship follow in the same workflow task and upsert "completed".
		return w.t.decideInPassing(ctx, p)
	case w.decision.inHandler:
		return w.t.decide(ctx, p)
	}
	return w.t.record(ctx, p)
}

func (w *tenantRequest) run(ctx workflow.Context) (TenantRequestStatus, error) {
	w.mail = newMailer(ctx, &w.t, w.logger)
	if err := w.t.record(ctx, activities.Progress{Status: models.TenantRequestWaitingForProvider, Event: "tenant_requested",
		Details: map[string]string{"domain": w.in.Domain, "provider_id": w.in.Provider.ID}}); err != nil {
		return w.status(), err
	}
	w.ids = mintStepIDs(ctx, &w.t, 3)
	expired, err := w.askProvider(ctx)
	if err != nil {
		return w.status(), err
	}
	switch {
	case expired:
		w.t.setStep(ctx, "Expired: the provider did not answer in time")
		if err := w.t.record(ctx, activities.Progress{Status: models.TenantRequestExpired, Event: "tenant_request_expired",
			Details: map[string]string{"reason": "the provider did not answer within the window"}}); err != nil {
			return w.status(), err
		}
		if err := w.notifyReseller(ctx, "expired", emails.TenantRequestExpired, ""); err != nil {
			return w.status(), err
		}
		return w.end(ctx)
	case w.decision.name == models.TenantRequestRejected:
		if err := w.notifyReseller(ctx, "rejected", emails.TenantRequestRejected, w.rejection.Reason); err != nil {
			return w.status(), err
		}
		return w.end(ctx)
	}
	if err := w.createCustomer(ctx); err != nil {
		return w.status(), err
	}
	w.logger.Info("Tenant request completed", "customer_id", w.st.CustomerID)
	return w.end(ctx)
}

// askProvider sends the request, reminds, and waits for the answer or expiry;
// the answer is recorded once it returns.
func (w *tenantRequest) askProvider(ctx workflow.Context) (expired bool, err error) {
	ask := emails.Data{Reseller: w.in.Reseller.Name, Customer: w.in.CompanyName, Domain: w.in.Domain, ID: w.in.RequestID, ExpiresAt: w.st.ExpiresAt}
	key := TenantRequestWorkflowID(w.in.RequestID)
	if err := w.mail.send(ctx, partnerNotice(key+":ask", w.in.Provider, emails.TenantRequest, ask), nil); err != nil {
		return false, err
	}
	w.t.setStep(ctx, "Waiting for the provider to create the tenant, until "+w.st.ExpiresAt.Format(time.RFC3339))
	expired, err = waitForAnswer(ctx, &w.wait, func() bool { return w.decision.name != "" }, never, nothing, func(n int) error {
		reminder := ask
		reminder.Reminder = true
		return w.mail.send(ctx, partnerNotice(fmt.Sprintf("%s:reminder:%d", key, n), w.in.Provider, emails.TenantRequest, reminder), func(ctx workflow.Context) error {
			return w.t.record(ctx, activities.Progress{Event: "reminder_sent", Details: map[string]string{"reminder": fmt.Sprint(n)}})
		})
	})
	if err != nil {
		return false, err
	}
	recorded, err := w.decision.settled(ctx)
	if err == nil && !expired && !recorded {
		err = w.recordDecision(ctx)
	}
	return expired, err
}

// createCustomer registers the approved customer and its relationship; a
// failure is recorded as the request's.
func (w *tenantRequest) createCustomer(ctx workflow.Context) error {
	customer := activities.TenantCustomerInput{RequestID: w.in.RequestID, CustomerID: w.st.CustomerID, TenantID: w.tenantID}
	var created workflow.Future
	if w.t.lean {
		// A short idempotent write: a local activity, no activity task round trip.
		created = workflow.ExecuteLocalActivity(withLocalWriteOptions(ctx), a.CreateTenantCustomer, customer)
	} else {
		created = workflow.ExecuteActivity(withActivityOptions(ctx), a.CreateTenantCustomer, customer)
	}
	if err := created.Get(ctx, nil); err != nil {
		return w.failed(ctx, models.TenantRequestFailed, err, false, nil)
	}
	if w.t.lean {
		// Rides on the completion's status upsert: one event instead of two.
		w.t.alsoUpsert = append(w.t.alsoUpsert, SearchCustomer.ValueSet(w.st.CustomerID))
	} else {
		if err := workflow.UpsertTypedSearchAttributes(ctx, SearchCustomer.ValueSet(w.st.CustomerID)); err != nil {
			return err
		}
		w.relationshipID = newID(ctx)
	}
	w.t.setStep(ctx, "Creating the reseller relationship")
	result, notified, err := w.relationship(ctx, RelationshipInput{
		RelationshipID: w.relationshipID, Source: models.SourceTenantRequest, SourceID: w.in.RequestID,
		Reseller: w.in.Reseller, Provider: w.in.Provider, CustomerID: w.st.CustomerID, CustomerName: w.in.CompanyName,
	}, "Relationship for tenant request "+w.in.RequestID, activities.Progress{Status: models.TenantRequestCompleted, Event: "relationship_created",
		CustomerID: w.st.CustomerID, Details: map[string]string{"customer_id": w.st.CustomerID}})
	if cause, ok := notRecorded(err); ok {
		return cause
	} else if err != nil {
		return w.failed(ctx, models.TenantRequestFailed, err, false, nil)
	}
	w.st.RelationshipID = result.RelationshipID
	w.t.setStep(ctx, "Completed: the customer and its relationship exist")
	return notified(ctx)
}

func (w *tenantRequest) notifyReseller(ctx workflow.Context, key string, kind emails.Kind, reason string) error {
	return w.mail.sendNow(ctx, partnerNotice(TenantRequestWorkflowID(w.in.RequestID)+":"+key, w.in.Reseller, kind,
		emails.Data{Provider: w.in.Provider.Name, Customer: w.in.CompanyName, Reason: reason}))
}

// end waits for the e-mails on their way and the running handlers.
func (w *tenantRequest) end(ctx workflow.Context) (TenantRequestStatus, error) {
	if err := w.mailSettled(ctx); err != nil {
		return w.status(), err
	}
	return w.status(), w.finish(ctx)
}
