package workflows

import (
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
)

// SignalGDAPChanged wakes a GDAP workflow waiting for the customer's
// approval to read the relationship at once (sent by the Partner Center
// webhook work when Microsoft reports a change).
const SignalGDAPChanged = "gdap_relationship_changed"

// GDAPApprovalExpiry is how long the customer has to approve: Microsoft
// expires a relationship request not approved within 90 days.
const GDAPApprovalExpiry = 90 * 24 * time.Hour

// ErrTypeGDAPApprovalExpired: the customer never approved.
const ErrTypeGDAPApprovalExpired = "GDAPApprovalExpired"

// GDAP polling backoff: minutes, not seconds, doubling to a few hours.
const (
	gdapFirstPoll = 2 * time.Minute
	gdapMaxPoll   = 4 * time.Hour
)

// GDAPInput is a GDAP relationship to obtain at Microsoft.
type GDAPInput struct {
	activities.GDAPRelationshipInput
	// RelationshipID and AskedAt carry a wait over continue-as-new.
	RelationshipID string
	AskedAt        time.Time
}

// GDAPResult answers the status query and ends the workflow.
type GDAPResult struct {
	RelationshipID string `json:"relationship_id"`
	Status         string `json:"status"`
	ApprovalLink   string `json:"approval_link"`
	EndDateTime    string `json:"end_date_time,omitempty"`
	Assignments    int    `json:"assignments"`
}

type gdapFlow struct {
	in      GDAPInput
	res     GDAPResult
	changed bool
	logger  log.Logger
}

// GDAPWorkflow obtains a GDAP relationship at Microsoft: created once (by
// displayName), locked for approval, then read with backoff (or at once on
// SignalGDAPChanged) until the customer approved and it is active; then the
// partner's access assignments are created and awaited. Not approved within
// 90 days, it ends as Microsoft's request does. Long waits continue as new,
// so history stays bounded.
func GDAPWorkflow(ctx workflow.Context, in GDAPInput) (GDAPResult, error) {
	w := &gdapFlow{in: in}
	if err := w.setup(ctx); err != nil {
		return w.res, err
	}
	return w.run(ctx)
}

// setup is the state, the logger scoped with the ids, and the status query,
// before anything blocks.
func (w *gdapFlow) setup(ctx workflow.Context) error {
	w.res = GDAPResult{RelationshipID: w.in.RelationshipID}
	w.logger = log.With(workflow.GetLogger(ctx), "partner_id", w.in.PartnerID, "display_name", w.in.DisplayName)
	return workflow.SetQueryHandler(ctx, QueryStatus, func() (GDAPResult, error) { return w.res, nil })
}

func gdapActivityOptions(ctx workflow.Context, heartbeat time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute, HeartbeatTimeout: heartbeat,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Minute},
	})
}

func (w *gdapFlow) run(ctx workflow.Context) (GDAPResult, error) {
	var g *activities.GDAP
	actx := gdapActivityOptions(ctx, 0)
	changes := workflow.GetSignalChannel(ctx, SignalGDAPChanged)
	var r activities.GDAPRelationship
	if w.in.RelationshipID == "" {
		if err := workflow.ExecuteActivity(actx, g.CreateGDAPRelationship, w.in.GDAPRelationshipInput).Get(ctx, &r); err != nil {
			return w.res, err
		}
		ref := activities.GDAPRef{PartnerID: w.in.PartnerID, RelationshipID: r.ID}
		if err := workflow.ExecuteActivity(actx, g.LockGDAPRelationship, ref).Get(ctx, &r); err != nil {
			return w.res, err
		}
		w.in.RelationshipID, w.in.AskedAt = r.ID, workflow.Now(ctx)
		w.logger.Info("GDAP relationship sent for the customer's approval", "graph_relationship_id", r.ID)
	}
	ref := activities.GDAPRef{PartnerID: w.in.PartnerID, RelationshipID: w.in.RelationshipID}
	w.res.RelationshipID, w.res.Status, w.res.ApprovalLink = r.ID, r.Status, r.ApprovalLink
	wait := gdapFirstPoll
	for {
		if err := workflow.ExecuteActivity(actx, g.GetGDAPRelationship, ref).Get(ctx, &r); err != nil {
			return w.res, err
		}
		w.res.RelationshipID, w.res.Status, w.res.ApprovalLink, w.res.EndDateTime = r.ID, r.Status, r.ApprovalLink, r.EndDateTime
		if r.Status == "active" {
			break
		}
		if r.Status != "approvalPending" && r.Status != "approved" && r.Status != "activating" {
			return w.res, temporal.NewNonRetryableApplicationError("the relationship is "+r.Status+" at Microsoft", activities.ErrTypeRelationshipEnded, nil)
		}
		left := w.in.AskedAt.Add(GDAPApprovalExpiry).Sub(workflow.Now(ctx))
		if left <= 0 {
			return w.res, temporal.NewNonRetryableApplicationError("the customer did not approve within 90 days", ErrTypeGDAPApprovalExpired, nil)
		}
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, min(wait, left)), func(workflow.Future) {})
		sel.AddReceive(changes, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); w.changed = true })
		sel.Select(ctx)
		cancel()
		if w.changed {
			w.changed, wait = false, gdapFirstPoll
		} else {
			wait = min(2*wait, gdapMaxPoll)
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return w.res, workflow.NewContinueAsNewError(ctx, GDAPWorkflow, w.in)
		}
	}
	in := activities.AwaitGDAPActiveInput{GDAPRef: ref, Every: time.Minute}
	if err := workflow.ExecuteActivity(gdapActivityOptions(ctx, 5*time.Minute), g.CreateGDAPAccessAssignments, in).Get(ctx, &w.res.Assignments); err != nil {
		return w.res, err
	}
	w.logger.Info("GDAP relationship active, access assigned", "graph_relationship_id", w.res.RelationshipID, "assignments", w.res.Assignments)
	return w.res, nil
}
