package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
	"github.com/csp-onboarding/onboarding/models"
)

// GDAPWorkflowID is the ID of the GDAPWorkflow that obtains the delegated
// admin relationship id at Microsoft (a child of its lifecycle).
func GDAPWorkflowID(delegatedAdminID string) string {
	return models.GDAPWorkflowIDPrefix + ":" + delegatedAdminID
}

// GDAPApprovalReminders are when the customer is reminded of Microsoft's
// approval link, after it was first sent (the request expires at 90 days).
var GDAPApprovalReminders = []time.Duration{3 * 24 * time.Hour, 14 * 24 * time.Hour, 60 * 24 * time.Hour, 83 * 24 * time.Hour}

// DelegatedAdminMicrosoft is a grant obtained as a GDAP relationship in
// Microsoft Graph (MICROSOFT_MODE live or simulated); nil in off mode.
type DelegatedAdminMicrosoft struct {
	// DisplayName is the relationship's name at Microsoft: unique per
	// partner, so a retried create finds the one it made.
	DisplayName      string
	CustomerEmail    string
	CustomerName     string
	CustomerTenantID string
	Locale           string
	DurationDays     int
	// GraphRelationshipID and AskedAt: the relationship exists and was sent
	// to the customer for approval then.
	GraphRelationshipID string
	AskedAt             time.Time
	RemindersSent       int
	// Active: Microsoft reported it active; the lifecycle runs on its dates.
	Active bool
	// While active, Graph is read at NextCheck (backoff from an hour to a
	// day, PollEvery) and on SignalGDAPChanged; CheckedEnd: read at EndsAt.
	NextCheck  time.Time
	PollEvery  time.Duration
	CheckedEnd bool
}

// Reading an active relationship: an hour after a change, doubling to a day.
const (
	gdapActiveFirstCheck = time.Hour
	gdapActiveMaxCheck   = 24 * time.Hour
)

// gdapDisplayName is unique per partner (the grant's ID) and at most 50
// characters, Graph's limit; the partner's name helps the customer's admin
// recognise it in the Microsoft 365 admin center.
func gdapDisplayName(partner, delegatedAdminID string) string {
	prefix := []rune(partner)
	if room := 50 - 1 - len(delegatedAdminID); len(prefix) > room {
		prefix = prefix[:max(room, 0)]
	}
	if len(prefix) == 0 {
		return delegatedAdminID
	}
	return string(prefix) + " " + delegatedAdminID
}

// pendingAtMicrosoft: the grant waits for the customer's approval at Microsoft.
func (w *delegatedAdmin) pendingAtMicrosoft() bool {
	return w.in.Microsoft != nil && !w.in.Microsoft.Active
}

// obtainAtMicrosoft creates the GDAP relationship, sends the customer
// Microsoft's approval link (reminding while it waits) and waits, through
// GDAPWorkflow, until Microsoft reports it active with the partner's access
// assignments. ended: the grant ended here (refused, or not approved in time).
func (w *delegatedAdmin) obtainAtMicrosoft(ctx workflow.Context) (ended bool, err error) {
	m := w.in.Microsoft
	req := activities.GDAPRelationshipInput{PartnerID: w.in.Reseller.ID, DisplayName: m.DisplayName, CustomerTenantID: m.CustomerTenantID,
		Roles: w.in.Roles, DurationDays: m.DurationDays, AutoExtend: w.in.AutoExtend}
	if m.GraphRelationshipID == "" {
		if failed, err := w.requestAtMicrosoft(ctx, req); err != nil || failed {
			return failed, err
		}
	}
	res, childErr, err := w.awaitApproval(ctx, req)
	if err != nil {
		return false, err
	}
	if childErr != nil {
		return w.failedAtMicrosoft(ctx, childErr)
	}
	return false, w.activatedAtMicrosoft(ctx, res)
}

// requestAtMicrosoft creates the relationship, locks it for approval,
// records that and sends the customer the approval link. failed: Microsoft
// refused, and the grant ended (recorded).
func (w *delegatedAdmin) requestAtMicrosoft(ctx workflow.Context, req activities.GDAPRelationshipInput) (failed bool, err error) {
	m := w.in.Microsoft
	var g *activities.GDAP
	actx := gdapActivityOptions(ctx, 0)
	var r activities.GDAPRelationship
	w.t.setStep(ctx, "Creating the GDAP relationship at Microsoft")
	if err := workflow.ExecuteActivity(actx, g.CreateGDAPRelationship, req).Get(ctx, &r); err != nil {
		return w.failedAtMicrosoft(ctx, err)
	}
	ref := activities.GDAPRef{PartnerID: req.PartnerID, RelationshipID: r.ID}
	if err := workflow.ExecuteActivity(actx, g.LockGDAPRelationship, ref).Get(ctx, &r); err != nil {
		return w.failedAtMicrosoft(ctx, err)
	}
	m.GraphRelationshipID, m.AskedAt = r.ID, workflow.Now(ctx).UTC()
	if err := w.record(ctx, activities.Progress{Status: models.DelegatedAdminApprovalPending, Event: models.EventDelegatedAdminApprovalRequested, Details: w.approvalDetails()}); err != nil {
		return false, err
	}
	return false, w.sendApprovalLink(ctx, false)
}

// awaitApproval runs the GDAPWorkflow child until the relationship is
// active (or the child fails: childErr), passing Partner Center's signals
// on and sending the approval reminders meanwhile.
func (w *delegatedAdmin) awaitApproval(ctx workflow.Context, req activities.GDAPRelationshipInput) (res GDAPResult, childErr, err error) {
	m := w.in.Microsoft
	w.t.setStep(ctx, "Waiting for the customer's approval at Microsoft")
	childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            GDAPWorkflowID(w.in.DelegatedAdminID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:         "GDAP relationship " + m.GraphRelationshipID + " at Microsoft",
	})
	child := workflow.ExecuteChildWorkflow(childCtx, GDAPWorkflow, GDAPInput{GDAPRelationshipInput: req, RelationshipID: m.GraphRelationshipID, AskedAt: m.AskedAt})
	changes := workflow.GetSignalChannel(ctx, SignalGDAPChanged)
	done := false
	for !done {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(child, func(f workflow.Future) { childErr, done = f.Get(ctx, &res), true })
		// The Partner Center webhooks signal the lifecycle (found by the Graph
		// id): passed on to the wait, which reads Graph at once.
		sel.AddReceive(changes, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			child.SignalChildWorkflow(ctx, SignalGDAPChanged, nil)
		})
		timerCtx, cancel := workflow.WithCancel(ctx)
		remind := m.RemindersSent < len(GDAPApprovalReminders)
		if remind {
			at := m.AskedAt.Add(GDAPApprovalReminders[m.RemindersSent])
			sel.AddFuture(workflow.NewTimer(timerCtx, max(at.Sub(workflow.Now(ctx)), time.Second)), func(workflow.Future) {})
		}
		sel.Select(ctx)
		cancel()
		if done || !remind || workflow.Now(ctx).Before(m.AskedAt.Add(GDAPApprovalReminders[m.RemindersSent])) {
			continue
		}
		m.RemindersSent++
		if err := w.sendApprovalLink(ctx, true); err != nil {
			return res, nil, err
		}
	}
	return res, childErr, nil
}

// activatedAtMicrosoft records the grant active from now, for the duration
// Microsoft counts: its end date when it sent one.
func (w *delegatedAdmin) activatedAtMicrosoft(ctx workflow.Context, res GDAPResult) error {
	m := w.in.Microsoft
	now := workflow.Now(ctx).UTC()
	w.in.ActivatedAt, w.in.EndsAt = now, now.AddDate(0, 0, m.DurationDays)
	if end, err := time.Parse(time.RFC3339, res.EndDateTime); err == nil {
		w.in.EndsAt = end.UTC()
	}
	m.Active = true
	m.PollEvery = gdapActiveFirstCheck
	m.NextCheck = now.Add(m.PollEvery)
	st := w.state()
	st.ActivatedAt = w.in.ActivatedAt
	details := map[string]string{"ends_at": w.in.EndsAt.Format(time.RFC3339), "graph_relationship_id": m.GraphRelationshipID,
		"access_assignments": fmt.Sprint(res.Assignments)}
	if err := w.record(ctx, activities.Progress{Status: models.DelegatedAdminActive, Event: "delegated_admin_activated", Details: details, DelegatedAdmin: st}); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(models.DelegatedAdminActive), SearchEndsAt.ValueSet(w.in.EndsAt))
}

func (w *delegatedAdmin) approvalDetails() map[string]string {
	id := w.in.Microsoft.GraphRelationshipID
	return map[string]string{"graph_relationship_id": id, "approval_link": ApprovalLink(id)}
}

// ApprovalLink is where the customer's admin approves the GDAP relationship
// in the Microsoft 365 admin center.
func ApprovalLink(graphRelationshipID string) string {
	return graph.ApprovalLink(graphRelationshipID)
}

// sendApprovalLink e-mails the customer Microsoft's approval link; the
// timeline's event is written once the message went out.
func (w *delegatedAdmin) sendApprovalLink(ctx workflow.Context, reminder bool) error {
	m := w.in.Microsoft
	if m.CustomerEmail == "" {
		w.logger.Warn("No customer address for Microsoft's approval link; it is on the customer page and the timeline")
		return nil
	}
	event, n := models.EventDelegatedAdminApprovalLinkSent, 0
	if reminder {
		event, n = models.EventDelegatedAdminApprovalReminderSent, m.RemindersSent
	}
	d := &emails.Data{Recipient: m.CustomerName, Reminder: reminder, Reseller: w.in.Reseller.Name, Roles: roles.Names(w.in.Roles),
		DurationDays: m.DurationDays, ExpiresAt: m.AskedAt.Add(GDAPApprovalExpiry)}
	// Microsoft's link goes where a personal link would: no token, nothing to close.
	e := activities.Email{Key: fmt.Sprintf("delegated-admin:%s:approval:%d", w.in.DelegatedAdminID, n), To: m.CustomerEmail,
		Template: emails.DelegatedAdminApproval, Locale: m.Locale, Data: d,
		Link: &activities.Link{SubjectID: w.in.DelegatedAdminID, URL: ApprovalLink(m.GraphRelationshipID)}}
	sent := w.t.reserve(ctx, event, map[string]string{"to": m.CustomerEmail})
	sent.DelegatedAdmin = w.state()
	return w.mail.sendNow(ctx, withSentEvent(e, sent))
}

// failedAtMicrosoft ends the grant: not approved within Microsoft's 90 days
// (expired), or refused by Microsoft (failed, with Graph's code and message).
func (w *delegatedAdmin) failedAtMicrosoft(ctx workflow.Context, cause error) (bool, error) {
	if isCancellation(cause) {
		return false, cause
	}
	status, event := models.DelegatedAdminFailed, models.EventDelegatedAdminFailed
	details := map[string]string{"reason": rootMessage(cause)}
	var app *temporal.ApplicationError
	if errors.As(cause, &app) {
		details["error_type"] = app.Type()
		if app.Type() == ErrTypeGDAPApprovalExpired {
			status, event = models.DelegatedAdminExpired, models.EventDelegatedAdminApprovalExpired
		}
	}
	if id := w.in.Microsoft.GraphRelationshipID; id != "" {
		details["graph_relationship_id"] = id
	}
	w.logger.Warn("Delegated admin not obtained at Microsoft", "status", status, "error", cause)
	w.t.setStep(ctx, "Ended: "+details["reason"])
	if err := w.record(ctx, activities.Progress{Status: status, Event: event, Details: details}); err != nil {
		return false, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(status)); err != nil {
		return false, err
	}
	return true, nil
}

// followsMicrosoft: the grant is active at Microsoft, whose state is the truth.
func (w *delegatedAdmin) followsMicrosoft() bool {
	return w.in.Microsoft != nil && w.in.Microsoft.Active
}

func (w *delegatedAdmin) gdapRef() activities.GDAPRef {
	return activities.GDAPRef{PartnerID: w.in.Reseller.ID, RelationshipID: w.in.Microsoft.GraphRelationshipID}
}

// listenToMicrosoft turns SignalGDAPChanged into a read of Graph by run().
func (w *delegatedAdmin) listenToMicrosoft(ctx workflow.Context) {
	changes := workflow.GetSignalChannel(ctx, SignalGDAPChanged)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for changes.Receive(ctx, nil) {
			w.graphChanged = true
		}
	})
}

// checkMicrosoft reads the relationship at Microsoft: expired or terminated
// there ends ours with the reason on the timeline (ended); a later end date
// (Microsoft's auto-extension) becomes ours. A refusal to read (the
// partner's app registration removed, say) is logged and looked at again later.
func (w *delegatedAdmin) checkMicrosoft(ctx workflow.Context) (ended bool, err error) {
	m := w.in.Microsoft
	woken := w.graphChanged
	w.graphChanged = false
	var g *activities.GDAP
	var r activities.GDAPRelationship
	err = workflow.ExecuteActivity(gdapActivityOptions(ctx, 0), g.GetGDAPRelationship, w.gdapRef()).Get(ctx, &r)
	now := workflow.Now(ctx)
	if woken {
		m.PollEvery = gdapActiveFirstCheck
	} else {
		m.PollEvery = min(2*max(m.PollEvery, gdapActiveFirstCheck), gdapActiveMaxCheck)
	}
	m.NextCheck = now.Add(m.PollEvery)
	if err != nil {
		if isCancellation(err) {
			return false, err
		}
		w.logger.Warn("Could not read the GDAP relationship at Microsoft", "error", err)
		return false, nil
	}
	if activities.GDAPEnded(r.Status) {
		status := models.DelegatedAdminExpired
		if r.Status == "terminationRequested" || r.Status == "terminating" || r.Status == "terminated" {
			status = models.DelegatedAdminTerminated
		}
		w.t.setStep(ctx, "Ended at Microsoft ("+r.Status+")")
		if err := w.record(ctx, activities.Progress{Status: status, Event: models.EventDelegatedAdminEndedAtMicrosoft, Details: map[string]string{
			"reason": "the relationship is " + r.Status + " at Microsoft", "graph_status": r.Status, "graph_relationship_id": r.ID}}); err != nil {
			return false, err
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(status)); err != nil {
			return false, err
		}
		return true, nil
	}
	if end, perr := time.Parse(time.RFC3339, r.EndDateTime); perr == nil && end.After(w.in.EndsAt.Add(time.Hour)) {
		w.in.EndsAt, w.in.NoticesSent, m.CheckedEnd = end.UTC(), nil, false
		w.in.Extensions++
		if err := w.record(ctx, activities.Progress{Status: models.DelegatedAdminActive, Event: "auto_extended", Details: map[string]string{"ends_at": w.in.EndsAt.Format(time.RFC3339), "by": "microsoft"}}); err != nil {
			return false, err
		}
		return false, workflow.UpsertTypedSearchAttributes(ctx, SearchEndsAt.ValueSet(w.in.EndsAt))
	}
	return false, nil
}

// terminateAtMicrosoft ends the relationship at Microsoft after ours was
// recorded terminated. A refusal is put on the timeline: the partner then
// ends it in Partner Center.
func (w *delegatedAdmin) terminateAtMicrosoft(ctx workflow.Context) error {
	var g *activities.GDAP
	err := workflow.ExecuteActivity(gdapActivityOptions(ctx, 0), g.TerminateGDAPRelationship, w.gdapRef()).Get(ctx, nil)
	if err == nil || isCancellation(err) {
		return err
	}
	w.logger.Warn("Microsoft refused to terminate the GDAP relationship", "error", err)
	return w.record(ctx, activities.Progress{Event: models.EventDelegatedAdminTerminationRefusedAtMicrosoft, Details: map[string]string{"reason": rootMessage(err)}})
}

// setAutoExtendAtMicrosoft makes Microsoft's autoExtendDuration follow ours.
// A refusal is put on the timeline; Microsoft's setting stays as it was.
func (w *delegatedAdmin) setAutoExtendAtMicrosoft(ctx workflow.Context) error {
	var g *activities.GDAP
	err := workflow.ExecuteActivity(gdapActivityOptions(ctx, 0), g.SetGDAPAutoExtend, activities.GDAPAutoExtendInput{GDAPRef: w.gdapRef(), On: w.in.AutoExtend}).Get(ctx, nil)
	if err == nil || isCancellation(err) {
		return err
	}
	w.logger.Warn("Microsoft refused the auto-extend change", "error", err)
	return w.record(ctx, activities.Progress{Event: models.EventDelegatedAdminAutoExtendRefusedAtMicrosoft, Details: map[string]string{"reason": rootMessage(err)}})
}
