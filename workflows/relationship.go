package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/models"
)

// RelationshipInput asks for a reseller relationship. Every path (invitation,
// extension, tenant request) uses it.
type RelationshipInput struct {
	RelationshipID string
	Source         string
	SourceID       string
	Reseller       Party
	Provider       Party
	CustomerID     string
	CustomerName   string
	NewCustomer    *activities.NewCustomer // set when the customer is new to the product
	ConsentID      string                  // the consent an extension rests on
	DelegatedAdmin *models.DelegatedAdminRequest
}

// RelationshipResult is what was created.
type RelationshipResult struct {
	RelationshipID   string `json:"relationship_id"`
	CustomerID       string `json:"customer_id"`
	DelegatedAdminID string `json:"delegated_admin_id,omitempty"`
}

// RelationshipStatus answers the status query.
type RelationshipStatus struct {
	Status string             `json:"status"`
	Step   string             `json:"step"`
	Result RelationshipResult `json:"result"`
}

// Versions of the relationship workflow's shape (change id "relationship-local-writes").
const (
	// relationshipShapeLocalWrites: the three database writes (customer,
	// relationship, partner lists) are short idempotent upserts keyed by ids
	// the workflow holds; as local activities they cost no activity task
	// round trip each. Executions started before ran them as activities.
	relationshipShapeLocalWrites workflow.Version = 1
	// relationshipShapeParallelNotices: both partners' notices are sent at
	// once instead of one after the other.
	relationshipShapeParallelNotices workflow.Version = 2
)

type relationship struct {
	in     RelationshipInput
	st     RelationshipStatus
	logger log.Logger
	shape  workflow.Version // relationshipShape* of this execution
	// lean: run inside an onboarding of the lean shape (createRelationship),
	// which implies the delegated admin versions below.
	lean bool
}

// RelationshipWorkflow creates the reseller relationship idempotently, the
// delegated admin relationship when one was granted, puts the customer on
// both partners' lists and notifies both partners.
func RelationshipWorkflow(ctx workflow.Context, in RelationshipInput) (RelationshipResult, error) {
	w := &relationship{in: in}
	if err := w.setup(ctx); err != nil {
		return w.st.Result, err
	}
	return w.run(ctx)
}

func (w *relationship) setup(ctx workflow.Context) error {
	w.st = RelationshipStatus{Status: "creating", Result: RelationshipResult{CustomerID: w.in.CustomerID}}
	w.logger = log.With(workflow.GetLogger(ctx), "relationship_id", w.in.RelationshipID, "source", w.in.Source, "source_id", w.in.SourceID)
	return workflow.SetQueryHandler(ctx, QueryStatus, func() (RelationshipStatus, error) { return w.st, nil })
}

// step shows what the workflow is doing now, in the Temporal UI too.
func (w *relationship) step(ctx workflow.Context, s string) {
	w.st.Step = s
	workflow.SetCurrentDetails(ctx, s)
}

func (w *relationship) run(ctx workflow.Context) (RelationshipResult, error) {
	in := w.in
	// One change id for the shape's versions: each new GetVersion would add a
	// marker and a search-attribute upsert to every history (issue 17).
	w.shape = workflow.GetVersion(ctx, "relationship-local-writes", workflow.DefaultVersion, relationshipShapeParallelNotices)
	if in.NewCustomer != nil {
		w.step(ctx, "Registering the customer")
		if err := w.write(ctx, a.EnsureCustomer, *in.NewCustomer).Get(ctx, nil); err != nil {
			return w.st.Result, err
		}
	}
	w.step(ctx, "Creating the reseller relationship")
	var relationshipID string
	err := w.write(ctx, a.CreateResellerRelationship, activities.ResellerRelationshipInput{
		RelationshipID: in.RelationshipID, CustomerID: in.CustomerID, ProviderID: in.Provider.ID, ResellerID: in.Reseller.ID,
		Source: in.Source, SourceID: in.SourceID, ConsentID: in.ConsentID, DelegatedAdmin: in.DelegatedAdmin != nil,
	}).Get(ctx, &relationshipID)
	if err != nil {
		return w.st.Result, err
	}
	w.st.Result.RelationshipID = relationshipID
	if in.DelegatedAdmin != nil {
		if err := w.grantDelegatedAdmin(ctx, relationshipID); err != nil {
			return w.st.Result, err
		}
	}
	w.step(ctx, "Adding the customer to the partners' customer lists")
	if err := w.write(ctx, a.AddCustomerToPartnerLists, activities.CustomerListsInput{
		CustomerID: in.CustomerID, ResellerID: in.Reseller.ID, ProviderID: in.Provider.ID,
	}).Get(ctx, nil); err != nil {
		return w.st.Result, err
	}
	if err := w.notifyPartners(ctx, relationshipID); err != nil {
		return w.st.Result, err
	}
	w.st.Status = models.RelationshipActive
	w.step(ctx, "Completed")
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(models.RelationshipActive)); err != nil {
		return w.st.Result, err
	}
	w.logger.Info("Relationship created", "customer_id", in.CustomerID)
	return w.st.Result, nil
}

// write runs one of the relationship's database writes.
func (w *relationship) write(ctx workflow.Context, activity any, arg any) workflow.Future {
	if w.shape >= relationshipShapeLocalWrites {
		return workflow.ExecuteLocalActivity(withLocalActivityOptions(ctx), activity, arg)
	}
	return workflow.ExecuteActivity(withActivityOptions(ctx), activity, arg)
}

// grantDelegatedAdmin records the delegated admin relationship the customer
// granted and starts its lifecycle. With Microsoft (MICROSOFT_MODE live or
// simulated) the row waits for the customer's approval at Microsoft
// (approval_pending) and the lifecycle obtains the GDAP relationship: the
// reseller relationship does not wait for it (docs/decisions/gdap-wait.md).
func (w *relationship) grantDelegatedAdmin(ctx workflow.Context, relationshipID string) error {
	in := w.in
	w.step(ctx, "Recording the delegated admin relationship")
	w.st.Result.DelegatedAdminID = newID(ctx)
	activatedAt := workflow.Now(ctx).UTC()
	da := activities.DelegatedAdminInput{
		ID: w.st.Result.DelegatedAdminID, RelationshipID: relationshipID, CustomerID: in.CustomerID,
		PartnerID: in.Reseller.ID, Request: *in.DelegatedAdmin, ActivatedAt: activatedAt,
	}
	// Executions older than GDAP through Microsoft record it active, as they did.
	var rec activities.DelegatedAdminRecord
	if w.lean || workflow.GetVersion(ctx, "delegated-admin-via-microsoft", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.RecordDelegatedAdmin, da).Get(ctx, &rec); err != nil {
			return err
		}
	} else if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.CreateDelegatedAdmin, da).Get(ctx, nil); err != nil {
		return err
	}
	// Relationships created before the lifecycle existed never started one.
	if w.lean || workflow.GetVersion(ctx, "start-delegated-admin-lifecycle", workflow.DefaultVersion, 1) == 1 {
		w.step(ctx, "Starting the delegated admin lifecycle")
		var ms *DelegatedAdminMicrosoft
		if rec.ViaMicrosoft {
			ms = &DelegatedAdminMicrosoft{
				DisplayName:   gdapDisplayName(in.Reseller.Name, w.st.Result.DelegatedAdminID),
				CustomerEmail: rec.CustomerEmail, CustomerName: nonEmpty(rec.CustomerName, in.CustomerName),
				CustomerTenantID: rec.CustomerTenantID, Locale: rec.Locale, DurationDays: in.DelegatedAdmin.DurationDays,
			}
		}
		return startDelegatedAdminLifecycle(ctx, in, w.st.Result.DelegatedAdminID, relationshipID, activatedAt, ms)
	}
	return nil
}

// notifyPartners tells both partners; only a cancellation stops it.
func (w *relationship) notifyPartners(ctx workflow.Context, relationshipID string) error {
	in := w.in
	w.step(ctx, "Notifying both partners")
	customer := nonEmpty(in.CustomerName, in.CustomerID)
	parties := []Party{in.Reseller, in.Provider}
	sends := make([]workflow.Future, len(parties))
	for i, p := range parties {
		notice := emails.Data{Customer: customer, CustomerID: in.CustomerID, Reseller: in.Reseller.Name, Provider: in.Provider.Name, ID: relationshipID}
		sends[i] = workflow.ExecuteActivity(emailOptions(ctx), a.SendEmail, partnerNotice(RelationshipWorkflowID(relationshipID)+":notify:"+p.ID, p, emails.RelationshipCreated, notice))
		if w.shape < relationshipShapeParallelNotices {
			if err := w.noticeSent(ctx, sends[i], p); err != nil {
				return err
			}
		}
	}
	if w.shape >= relationshipShapeParallelNotices {
		for i, p := range parties {
			if err := w.noticeSent(ctx, sends[i], p); err != nil {
				return err
			}
		}
	}
	return nil
}

// noticeSent waits for a partner notice. The relationship exists: an
// undeliverable notice must not undo or stall that; only a cancellation stops it.
func (w *relationship) noticeSent(ctx workflow.Context, send workflow.Future, p Party) error {
	err := send.Get(ctx, nil)
	if err != nil && !isCancellation(err) {
		w.logger.Warn("Partner notice not delivered", "partner_id", p.ID, "error", rootMessage(err))
		return nil
	}
	return err
}

// runRelationship runs relationship creation as a child workflow of an onboarding.
func runRelationship(ctx workflow.Context, rel RelationshipInput, summary string) (RelationshipResult, error) {
	childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            RelationshipWorkflowID(rel.RelationshipID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON, // a started relationship is finished even if its parent is terminated
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchKind.ValueSet(KindRelationship), SearchStatus.ValueSet("creating"),
			SearchReseller.ValueSet(rel.Reseller.ID), SearchProvider.ValueSet(rel.Provider.ID), SearchCustomer.ValueSet(rel.CustomerID)),
		StaticSummary: summary,
	})
	var result RelationshipResult
	err := workflow.ExecuteChildWorkflow(childCtx, RelationshipWorkflow, rel).Get(ctx, &result)
	return result, err
}

// startDelegatedAdminLifecycle starts the grant's lifecycle as an abandoned
// child: it outlives this workflow by up to two years.
func startDelegatedAdminLifecycle(ctx workflow.Context, in RelationshipInput, id, relationshipID string, activatedAt time.Time, ms *DelegatedAdminMicrosoft) error {
	endsAt := activatedAt.AddDate(0, 0, in.DelegatedAdmin.DurationDays)
	status := models.DelegatedAdminActive
	if ms != nil {
		status = models.DelegatedAdminApprovalPending
	}
	childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            DelegatedAdminWorkflowID(id),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchKind.ValueSet(KindDelegatedAdmin), SearchStatus.ValueSet(status),
			SearchReseller.ValueSet(in.Reseller.ID), SearchCustomer.ValueSet(in.CustomerID), SearchEndsAt.ValueSet(endsAt)),
		StaticSummary: "Delegated admin for customer " + nonEmpty(in.CustomerName, in.CustomerID),
	})
	child := workflow.ExecuteChildWorkflow(childCtx, DelegatedAdminWorkflow, DelegatedAdminInput{
		DelegatedAdminID: id, RelationshipID: relationshipID, CustomerID: in.CustomerID, Reseller: in.Reseller,
		Roles: in.DelegatedAdmin.Roles, AutoExtend: in.DelegatedAdmin.AutoExtend, ActivatedAt: activatedAt, EndsAt: endsAt,
		Microsoft: ms,
	})
	// Wait until it started; its result is not awaited.
	return child.GetChildWorkflowExecution().Get(ctx, nil)
}
