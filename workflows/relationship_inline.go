package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
)

// createRelationship is RelationshipWorkflow's work done inside the
// onboarding's own workflow, for executions of the lean shape
// (docs/decisions/relationship-in-the-onboarding.md): one local activity for
// the customer, the relationship and both partners' lists; the delegated
// admin grant as before; both partners' notices in one activity. It answers
// once the relationship exists; notified waits for the notices, so the
// onboarding records its completion while they go out.
//
// Every path (invitation, extension, tenant request) calls it, as each
// started the child before.
//
// done is the onboarding's record of the step (its status and
// relationship_created), written once the relationship exists: in the same
// local activity when nothing comes between (no delegated admin grant).
func createRelationship(ctx workflow.Context, t *tracker, in RelationshipInput, done activities.Progress, logger log.Logger) (result RelationshipResult, notified func(workflow.Context) error, err error) {
	// Once begun, the relationship is finished even if the onboarding is
	// cancelled meanwhile: the child's ABANDON parent-close policy did that.
	// Never cancelled itself: cancelling it would also cancel the delegated
	// admin lifecycle child started in it, which must outlive the onboarding.
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	r := &relationship{in: in, lean: true, shape: relationshipShapeParallelNotices,
		logger: log.With(logger, "relationship_id", in.RelationshipID), st: RelationshipStatus{Result: RelationshipResult{CustomerID: in.CustomerID}}}
	step := activities.SetUpRelationshipInput{
		NewCustomer: in.NewCustomer,
		Relationship: activities.ResellerRelationshipInput{
			RelationshipID: in.RelationshipID, CustomerID: in.CustomerID, ProviderID: in.Provider.ID, ResellerID: in.Reseller.ID,
			Source: in.Source, SourceID: in.SourceID, ConsentID: in.ConsentID, DelegatedAdmin: in.DelegatedAdmin != nil,
		},
	}
	if in.DelegatedAdmin == nil {
		placed, _ := t.place(ctx, done)
		step.Recorded = &placed
	}
	var id string
	if err := workflow.ExecuteLocalActivity(withLocalWriteOptions(ctx), a.SetUpRelationship, step).Get(ctx, &id); err != nil {
		return r.st.Result, nil, err
	}
	r.st.Result.RelationshipID = id
	if step.Recorded != nil {
		err = t.written(ctx, *step.Recorded)
	} else if err = r.grantDelegatedAdmin(ctx, id); err == nil {
		err = t.record(ctx, done.WithRelationship(id))
	}
	if err != nil {
		return r.st.Result, nil, err
	}
	customer := nonEmpty(in.CustomerName, in.CustomerID)
	var notices []activities.Email
	for _, p := range []Party{in.Reseller, in.Provider} {
		notice := emails.Data{Customer: customer, CustomerID: in.CustomerID, Reseller: in.Reseller.Name, Provider: in.Provider.Name, ID: id}
		notices = append(notices, partnerNotice(RelationshipWorkflowID(id)+":notify:"+p.ID, p, emails.RelationshipCreated, notice))
	}
	sent := workflow.ExecuteActivity(emailOptions(ctx), a.SendNotices, notices)
	r.logger.Info("Relationship created", "customer_id", in.CustomerID)
	return r.st.Result, func(wctx workflow.Context) error {
		// The relationship exists: an undeliverable notice must not undo or
		// stall that (as noticeSent).
		var outcomes []activities.NoticeOutcome
		if err := sent.Get(wctx, &outcomes); err != nil {
			r.logger.Warn("Partner notices not delivered", "error", rootMessage(err))
			return nil
		}
		for _, o := range outcomes {
			if o.Failed != "" {
				r.logger.Warn("Partner notice not delivered", "key", o.Key, "error", o.Failed)
			}
		}
		return nil
	}, nil
}

// mintStepIDs mints, in the lean shape, the ids the onboarding's later steps
// write under (a new customer, its relationship, …), in its first workflow
// task: one SideEffect for all of them. Not later, in the task that writes
// with them: those writes are local activities, and a task that fails after
// them (its worker killed, the server restarted) is run again and would mint
// other ids — a second customer and a second relationship. Minted here, they
// are in history before anything uses them. Their time order is the
// onboarding's start. Older executions mint each id where it is used
// (nil here).
func mintStepIDs(ctx workflow.Context, t *tracker, n int) []string {
	if !t.lean {
		return nil
	}
	return newIDs(ctx, n)
}

// newIDs mints n time-ordered IDs in one SideEffect: one marker for all the
// IDs a step needs (lean shape) instead of one each.
func newIDs(ctx workflow.Context, n int) []string {
	var ids []string
	encoded := workflow.SideEffect(ctx, func(workflow.Context) any {
		out := make([]string, n)
		for i := range out {
			out[i] = mintID()
		}
		return out
	})
	if err := encoded.Get(&ids); err != nil || len(ids) != n {
		panic("newIDs: a SideEffect of strings did not decode") // a bug worth a workflow-task retry
	}
	return ids
}
