// Package workflows holds the onboarding processes as Temporal workflows.
// Each is a small struct: setup() initialises state and registers the status
// query and the update handlers before anything blocks; run() does the work.
// Workflow code is deterministic: time comes from workflow.Now, IDs from
// SideEffect, and nothing ranges over a map.
package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

// Custom search attributes (docs/domain.md, "What operators see"), typed so that no query is built from
// raw strings.
var (
	SearchKind     = temporal.NewSearchAttributeKeyKeyword("OnboardingKind")
	SearchStatus   = temporal.NewSearchAttributeKeyKeyword("OnboardingStatus")
	SearchReseller = temporal.NewSearchAttributeKeyKeyword("ResellerId")
	SearchProvider = temporal.NewSearchAttributeKeyKeyword("ProviderId")
	SearchCustomer = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	// SearchEndsAt is when a delegated admin relationship ends, so operators
	// can list what ends this month.
	SearchEndsAt = temporal.NewSearchAttributeKeyTime("DelegatedAdminEndsAt")
)

// SearchAttribute is a custom attribute to register on the namespace.
type SearchAttribute struct {
	Name string
	Type enumspb.IndexedValueType
}

// SearchAttributes lists the custom attributes in a fixed order.
var SearchAttributes = []SearchAttribute{
	{"OnboardingKind", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"OnboardingStatus", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"ResellerId", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"ProviderId", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"CustomerId", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"DelegatedAdminEndsAt", enumspb.INDEXED_VALUE_TYPE_DATETIME},
	{"BulkJobId", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
}

// Onboarding kinds, as shown in OnboardingKind: the lifecycle registry's
// (models/kinds.go).
const (
	KindPartnership   = models.KindPartnership
	KindInvitation    = models.KindInvitation
	KindRelationship  = models.KindRelationship
	KindExtension     = models.KindExtension
	KindEnrollment    = models.KindEnrollment
	KindTenantRequest = models.KindTenantRequest
)

// Workflow IDs read as what they are; the registry holds their prefixes.
func PartnershipWorkflowID(id string) string  { return models.PartnershipLifecycle.WorkflowID(id) }
func InvitationWorkflowID(id string) string   { return models.InvitationLifecycle.WorkflowID(id) }
func RelationshipWorkflowID(id string) string { return models.RelationshipLifecycle.WorkflowID(id) }
func ExtensionWorkflowID(id string) string    { return models.ExtensionLifecycle.WorkflowID(id) }
func EnrollmentWorkflowID(partnerID string) string {
	return models.EnrollmentLifecycle.WorkflowID(partnerID)
}

// QueryStatus answers the current state of any onboarding workflow.
const QueryStatus = "status"

// Updates: customer and partner decisions, validated synchronously.
const (
	UpdateAccept  = "accept"
	UpdateDecline = "decline"
	UpdateCancel  = "cancel"
	UpdateResend  = "resend"
	UpdateConsent = "consent"
	UpdateApprove = "approve"
	UpdateReject  = "reject"
	// UpdateChangeEmail gives an invitation a corrected customer address for later e-mails.
	UpdateChangeEmail = "change_customer_email"
)

// Error types of rejected updates; the API maps them to problems.
const (
	ErrTypeAlreadyDecided = "AlreadyDecided"
	ErrTypeExpired        = "Expired"
)

// Party is a partner as the workflow needs it: for e-mails and attributes.
type Party struct {
	ID    string
	Name  string
	Email string
}

// Answer carries who answered, for the timeline and consent evidence.
type Answer struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// EmailKey is the e-mail whose personal link carried a customer's answer.
	EmailKey string `json:"email_key,omitempty"`
	// SignedIn is who signed in with Microsoft before answering (MICROSOFT_MODE
	// live or simulated): evidence of the customer's identity.
	SignedIn *models.SignedInAccount `json:"signed_in,omitempty"`
}

// a is a nil receiver for activity method references: the worker registers
// the real struct, tests mock these methods.
var a *activities.Activities

func withActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			NonRetryableErrorTypes: []string{
				activities.ErrTypeInvalidInput, activities.ErrTypeNotFound, activities.ErrTypePartnershipNotActive,
			},
		},
	})
}

// readYourWritesChange versions the rule of docs/decisions/read-your-writes.md:
// an update handler records its decision in the database before it answers,
// and a record that does not change the status is a timeline event only.
// Histories recorded before it replay the older shape (DefaultVersion).
const readYourWritesChange = "read-your-writes"

// readsOwnWrites tells whether this execution follows the rule. The first
// call pins the answer for the rest of the execution.
func readsOwnWrites(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, readYourWritesChange, workflow.DefaultVersion, 1) == 1
}

// leanShapeChange versions the lean shape of an onboarding (issue 17,
// docs/decisions/relationship-in-the-onboarding.md): the relationship is
// created in the onboarding's own workflow instead of a child, the partner
// notices go out in one activity, IDs are minted in one SideEffect, and the
// changes the lean shape builds on (read-your-writes, async e-mail, answers
// that prove delivery, resends that supersede links) are implied instead of
// asked one GetVersion each: one marker per history instead of five.
const leanShapeChange = "lean-shape"

// leanShape tells whether this execution runs the lean shape. setup() asks
// it first, before any other GetVersion, and the tracker keeps the answer.
func leanShape(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, leanShapeChange, workflow.DefaultVersion, 1) == 1
}

// tracker keeps an onboarding's status, its timeline sequence and its current
// step, and writes each change through RecordProgress.
type tracker struct {
	kind      string
	subjectID string
	seq       int
	status    string
	step      string
	// lean: the execution runs the lean shape (leanShape), which implies
	// read-your-writes without asking.
	lean bool
	// alsoUpsert rides on the next status upsert: one search-attribute
	// event instead of two (lean shape).
	alsoUpsert []temporal.SearchAttributeUpdate
	// unpublished: the status changed without its upsert (decideInPassing);
	// the next upsert, or finish, carries it.
	unpublished bool
}

// readsOwnWrites is the package's readsOwnWrites, implied by the lean shape.
func (t *tracker) readsOwnWrites(ctx workflow.Context) bool {
	return t.lean || readsOwnWrites(ctx)
}

// setStep shows what the workflow is doing now, in the Temporal UI too.
func (t *tracker) setStep(ctx workflow.Context, step string) {
	t.step = step
	workflow.SetCurrentDetails(ctx, step)
}

// record writes the status (empty: unchanged) and a timeline event, then
// mirrors the status in the OnboardingStatus search attribute. The tracker
// fills in the kind, subject, sequence and time.
func (t *tracker) record(ctx workflow.Context, p activities.Progress) error {
	return t.write(ctx, p, false)
}

// reserve takes the place on the timeline of an event an e-mail's delivery
// writes (its "sent"): the SendEmail activity records it when the message goes
// out, so the timeline holds the fact even when the workflow learns of it late
// (or never: a send cancelled once the process ended, after it went out).
// Recording the same reserved event again changes nothing.
func (t *tracker) reserve(ctx workflow.Context, event string, details map[string]string) activities.Progress {
	t.seq++
	return activities.Progress{Kind: t.kind, SubjectID: t.subjectID, Seq: t.seq, Event: event, At: workflow.Now(ctx).UTC(), Details: details}
}

// recordSent is the onSent of an e-mail whose SendEmail writes its reserved
// "sent" itself (withSentEvent). Executions before the lean shape record it
// once more (no change, one more local activity in their history).
func (t *tracker) recordSent(sent activities.Progress) func(workflow.Context) error {
	return func(ctx workflow.Context) error {
		if t.lean {
			return nil
		}
		return t.record(ctx, sent)
	}
}

// decide records a decision from its update handler, before the update
// answers, as a local activity: the update completes in the same workflow
// task instead of waiting for an activity task round trip.
func (t *tracker) decide(ctx workflow.Context, p activities.Progress) error {
	return t.write(ctx, p, true)
}

// decideInPassing is decide for a decision whose status the next step
// replaces at once (an accept in off mode: the relationship follows in the
// same workflow task). Its search-attribute upsert is left to that step's:
// the commands of one workflow task apply together, so no reader could have
// seen it, and the history holds one upsert instead of two (lean shape).
func (t *tracker) decideInPassing(ctx workflow.Context, p activities.Progress) error {
	p, _ = t.place(ctx, p)
	if err := workflow.ExecuteLocalActivity(withLocalActivityOptions(ctx), a.RecordProgress, p).Get(ctx, nil); err != nil {
		return err
	}
	if p.Status != "" && p.Status != t.status {
		t.status, t.unpublished = p.Status, true
	}
	return nil
}

// upsertStatusAgain repeats the status upsert that record already made, for
// executions before the lean shape: their histories (the wait for Partner
// Center, issue 14) hold the second upsert, and replay needs it.
func (t *tracker) upsertStatusAgain(ctx workflow.Context) error {
	if t.lean {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(t.status))
}

// publish upserts a status left unpublished by decideInPassing, if the step
// that was to carry it did not come (the onboarding ends first).
func (t *tracker) publish(ctx workflow.Context) error {
	if !t.unpublished {
		return nil
	}
	updates := append(t.alsoUpsert, SearchStatus.ValueSet(t.status))
	t.alsoUpsert, t.unpublished = nil, false
	return workflow.UpsertTypedSearchAttributes(ctx, updates...)
}

func (t *tracker) write(ctx workflow.Context, p activities.Progress, local bool) error {
	p, rw := t.place(ctx, p)
	var f workflow.Future
	// A record is one short database transaction: as a local activity it
	// costs no activity task round trip, for run() as for the handlers.
	if local || rw {
		f = workflow.ExecuteLocalActivity(withLocalActivityOptions(ctx), a.RecordProgress, p)
	} else {
		f = workflow.ExecuteActivity(withActivityOptions(ctx), a.RecordProgress, p)
	}
	if err := f.Get(ctx, nil); err != nil {
		return err
	}
	return t.written(ctx, p)
}

// place gives a record its place on the timeline: kind, subject, sequence
// and time; a status it already has becomes an event only. rw tells whether
// this execution reads its own writes.
func (t *tracker) place(ctx workflow.Context, p activities.Progress) (placed activities.Progress, rw bool) {
	// The sequence is taken before anything blocks, so records running at
	// the same time (a reminder and a decision) never share one.
	if p.Seq == 0 {
		t.seq++
		p.Seq = t.seq
	}
	p.Kind, p.SubjectID, p.At = t.kind, t.subjectID, workflow.Now(ctx).UTC()
	rw = t.readsOwnWrites(ctx)
	if p.Status == t.status && rw {
		// Event only: a reminder recorded while a decision is being recorded
		// must not write the older status over the decision's.
		p.Status = ""
	}
	return p, rw
}

// written takes the status of a placed record once it is in the database and
// mirrors it in the OnboardingStatus search attribute.
func (t *tracker) written(ctx workflow.Context, p activities.Progress) error {
	// An empty status is a timeline event only: the status stays as it is.
	if p.Status != "" && p.Status != t.status {
		t.status = p.Status
		updates := append(t.alsoUpsert, SearchStatus.ValueSet(p.Status))
		t.alsoUpsert, t.unpublished = nil, false
		return workflow.UpsertTypedSearchAttributes(ctx, updates...)
	}
	return nil
}

// withLocalWriteOptions is for a business step's write as a local activity
// (lean shape: the relationship step, the extension's consent and share, the
// tenant request's customer). Those were activities retried without end; as
// local activities they keep retrying through a database outage for up to a
// day (a long backoff runs on a timer) instead of the 30 s records get.
func withLocalWriteOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, localOptions(24*time.Hour))
}

// withLocalActivityOptions is for records: 30 s, retries included.
func withLocalActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, localOptions(0))
}

// localOptions: 30 s an attempt, retried with backoff until scheduleToClose
// (0: within the 30 s).
func localOptions(scheduleToClose time.Duration) workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: scheduleToClose,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    100 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			NonRetryableErrorTypes: []string{
				activities.ErrTypeInvalidInput, activities.ErrTypeNotFound, activities.ErrTypePartnershipNotActive,
			},
		},
	}
}

// decision is a partner's, operator's or customer's answer to a workflow.
// Its update handler sets it at once, so the validators refuse a second
// answer, and records it before answering; run() goes on only once that
// record finished, and does not record it again.
type decision struct {
	name      string // empty until answered
	inHandler bool   // the handler records it (read-your-writes version)
	lean      bool   // the lean shape: read-your-writes without asking
	done      bool   // the handler's record finished
	err       error
}

// take is called by an update handler: record writes the decision once
// quiet holds, i.e. once run() has no record of its own in flight (the
// e-mail just sent, a reminder), so the timeline keeps the order it always
// had: what run() did before the answer comes before the answer.
func (d *decision) take(ctx workflow.Context, name string, quiet func() bool, record func(workflow.Context) error) error {
	d.name = name
	if !d.lean && !readsOwnWrites(ctx) {
		return nil // older executions: run() records it, as they always did
	}
	d.inHandler = true
	if d.err = workflow.Await(ctx, quiet); d.err == nil {
		d.err = record(ctx)
	}
	d.done = true
	return d.err
}

// settled waits for the handler's record. recorded tells run() that the
// decision is in the database already.
func (d *decision) settled(ctx workflow.Context) (recorded bool, err error) {
	if !d.inHandler {
		return false, nil
	}
	if err := workflow.Await(ctx, func() bool { return d.done }); err != nil {
		return true, err
	}
	return true, d.err
}

// answerDetails puts who answered on the timeline.
func answerDetails(ans Answer) map[string]string {
	d := map[string]string{}
	if ans.IP != "" {
		d["ip"] = ans.IP
	}
	if ans.UserAgent != "" {
		d["user_agent"] = ans.UserAgent
	}
	if ans.Reason != "" {
		d["reason"] = ans.Reason
	}
	if id := ans.SignedIn; id != nil {
		d["signed_in_tenant_id"], d["signed_in_object_id"], d["signed_in_name"], d["signed_in_upn"] = id.TenantID, id.ObjectID, id.Name, id.UPN
	}
	return d
}

// sendEmail runs SendEmail and waits; its key makes it exactly-once. New
// code sends through a mailer, which never blocks a wait.
func sendEmail(ctx workflow.Context, e activities.Email) error {
	return workflow.ExecuteActivity(emailOptions(ctx), a.SendEmail, e).Get(ctx, nil)
}

// answerWait describes how long a process waits for an answer, and when it reminds.
type answerWait struct {
	start       time.Time
	reminders   []time.Duration // after start
	expireAfter time.Duration   // 0: never expires
	// quiet: the process waits and records nothing itself (no reminder or
	// resend in flight), or it is done waiting. Decisions are recorded then.
	quiet bool
}

func (w answerWait) expiresAt() time.Time { return w.start.Add(w.expireAfter) }

// waitForAnswer blocks until answered() holds or the wait expires. It calls
// remind(n) at the n-th reminder time and onWake whenever woken() holds (a
// resend, say). Each wait's timer is cancelled when a message wins.
func waitForAnswer(ctx workflow.Context, w *answerWait, answered, woken func() bool, onWake func() error, remind func(n int) error) (expired bool, err error) {
	w.quiet = true
	defer func() { w.quiet = true }()
	busy := func(f func() error) error {
		w.quiet = false
		defer func() { w.quiet = true }()
		return f()
	}
	sent := 0
	for !answered() {
		deadline, isReminder := w.expiresAt(), false
		if sent < len(w.reminders) && (w.expireAfter == 0 || w.reminders[sent] < w.expireAfter) {
			deadline, isReminder = w.start.Add(w.reminders[sent]), true
		} else if w.expireAfter == 0 {
			// Nothing left to remind of and no expiry: wait for the answer alone.
			if err := workflow.Await(ctx, func() bool { return answered() || woken() }); err != nil {
				return false, err
			}
			if !answered() {
				if err := busy(onWake); err != nil {
					return false, err
				}
			}
			continue
		}
		if wait := deadline.Sub(workflow.Now(ctx)); wait > 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return answered() || woken() })
			if err != nil {
				return false, err
			}
			if ok {
				if !answered() {
					if err := busy(onWake); err != nil {
						return false, err
					}
				}
				continue
			}
		}
		if !isReminder {
			return true, nil
		}
		sent++
		if err := busy(func() error { return remind(sent) }); err != nil {
			return false, err
		}
	}
	return false, nil
}

func never() bool { return false }

func nothing() error { return nil }

// isCancellation tells whether err is the workflow being cancelled from outside.
func isCancellation(err error) bool {
	var canceled *temporal.CanceledError
	return errors.As(err, &canceled)
}
