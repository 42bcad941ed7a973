package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
	"github.com/csp-onboarding/onboarding/models"
)

// KindDelegatedAdmin is the OnboardingKind of lifecycle workflows.
const KindDelegatedAdmin = models.KindDelegatedAdmin

// DelegatedAdminWorkflowID reads as what it is.
func DelegatedAdminWorkflowID(id string) string { return models.DelegatedAdminLifecycle.WorkflowID(id) }

// Lifecycle updates.
const (
	UpdateTerminate     = "terminate"
	UpdateSetAutoExtend = "set_auto_extend"
)

// NoticeDays are the notices before the end, in days.
var NoticeDays = []int{30, 7, 1}

// DelegatedAdminInput is a lifecycle's whole state: continue-as-new carries
// it forward, so history stays small over years.
type DelegatedAdminInput struct {
	DelegatedAdminID string
	RelationshipID   string
	CustomerID       string
	Reseller         Party
	Roles            []string
	AutoExtend       bool
	ActivatedAt      time.Time
	EndsAt           time.Time
	Extensions       int
	NoticesSent      []int // days-before notices already sent for EndsAt
	Seq              int   // timeline sequence so far
	// Microsoft: the grant is a GDAP relationship in Microsoft Graph
	// (MICROSOFT_MODE live or simulated), first waiting for the customer's
	// approval; nil keeps it in our database alone.
	Microsoft *DelegatedAdminMicrosoft `json:",omitempty"`
}

// DelegatedAdminStatus answers the status query.
type DelegatedAdminStatus struct {
	DelegatedAdminID string     `json:"delegated_admin_id"`
	Status           string     `json:"status"`
	Step             string     `json:"step"`
	EndsAt           time.Time  `json:"ends_at"`
	NextNoticeAt     *time.Time `json:"next_notice_at,omitempty"`
	AutoExtend       bool       `json:"auto_extend"`
	Extensions       int        `json:"extensions"`
}

type delegatedAdmin struct {
	onboarding
	in        DelegatedAdminInput
	terminate *Answer
	ended     decision // the termination, recorded by its handler
	quiet     bool     // run() waits and records nothing: a termination is recorded then
	roleIDs   bool     // the Global Administrator rule compares catalogue IDs
	// graphChanged: SignalGDAPChanged arrived while the grant is active at
	// Microsoft (the Partner Center webhooks send it); run() reads Graph.
	graphChanged bool
}

// DelegatedAdminWorkflow runs a delegated admin relationship from activation
// to its end: notices 30, 7 and 1 days before, auto-extension by 180 days
// where allowed, expiry, or termination on request.
func DelegatedAdminWorkflow(ctx workflow.Context, in DelegatedAdminInput) (DelegatedAdminStatus, error) {
	w := &delegatedAdmin{in: in}
	if err := w.setup(ctx); err != nil {
		return w.status(ctx), err
	}
	return w.run(ctx)
}

// hasGlobalAdmin compares role IDs from the catalogue (so no spelling of the
// name escapes the rule); executions started before the catalogue compare
// the exact name, as they did.
func (w *delegatedAdmin) hasGlobalAdmin() bool {
	if !w.roleIDs {
		return slices.Contains(w.in.Roles, models.GlobalAdministrator)
	}
	return roles.HasGlobalAdministrator(w.in.Roles)
}

func (w *delegatedAdmin) setup(ctx workflow.Context) error {
	w.t = tracker{kind: activities.KindDelegatedAdmin, subjectID: w.in.DelegatedAdminID, status: models.DelegatedAdminActive, seq: w.in.Seq}
	if w.pendingAtMicrosoft() {
		w.t.status = models.DelegatedAdminApprovalPending
	}
	w.roleIDs = workflow.GetVersion(ctx, "delegated-admin-role-ids", workflow.DefaultVersion, 1) == 1
	if w.hasGlobalAdmin() {
		w.in.AutoExtend = false // never with the Global Administrator role
	}
	w.logger = log.With(workflow.GetLogger(ctx), "delegated_admin_id", w.in.DelegatedAdminID, "customer_id", w.in.CustomerID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (DelegatedAdminStatus, error) { return w.status(ctx), nil }); err != nil {
		return err
	}
	active := func() error {
		if w.pendingAtMicrosoft() && w.terminate == nil {
			return temporal.NewApplicationError("this delegated admin relationship waits for the customer's approval at Microsoft; it can be changed once active", ErrTypeAlreadyDecided)
		}
		if w.terminate != nil || w.t.status != models.DelegatedAdminActive {
			return temporal.NewApplicationError("this delegated admin relationship is no longer active ("+w.t.status+")", ErrTypeAlreadyDecided)
		}
		return nil
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateTerminate, func(ctx workflow.Context, a Answer) (string, error) {
		w.terminate = &a
		return models.DelegatedAdminTerminated, w.ended.take(ctx, models.DelegatedAdminTerminated, func() bool { return w.quiet }, w.recordTermination)
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, _ Answer) error { return active() }}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateSetAutoExtend, func(ctx workflow.Context, on bool) (bool, error) {
		w.in.AutoExtend = on
		return on, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, on bool) error {
		if on && w.hasGlobalAdmin() {
			return temporal.NewApplicationError("auto-extend is never allowed with the Global Administrator role", ErrTypeAlreadyDecided)
		}
		return active()
	}})
}

// nextNotice is the next notice still to send, if any is due before the end.
func (w *delegatedAdmin) nextNotice(now time.Time) (days int, at time.Time, ok bool) {
	for _, d := range NoticeDays {
		at := w.in.EndsAt.Add(-time.Duration(d) * 24 * time.Hour)
		if !slices.Contains(w.in.NoticesSent, d) && at.After(now) {
			return d, at, true
		}
	}
	return 0, time.Time{}, false
}

func (w *delegatedAdmin) status(ctx workflow.Context) DelegatedAdminStatus {
	s := DelegatedAdminStatus{DelegatedAdminID: w.in.DelegatedAdminID, Status: w.t.status, Step: w.t.step, EndsAt: w.in.EndsAt,
		AutoExtend: w.in.AutoExtend, Extensions: w.in.Extensions}
	if _, at, ok := w.nextNotice(workflow.Now(ctx)); ok && w.t.status == models.DelegatedAdminActive {
		s.NextNoticeAt = &at
	}
	return s
}

func (w *delegatedAdmin) state() *activities.DelegatedAdminState {
	s := &activities.DelegatedAdminState{EndsAt: w.in.EndsAt, Extensions: w.in.Extensions, AutoExtend: w.in.AutoExtend}
	if w.in.Microsoft != nil {
		s.GraphRelationshipID = w.in.Microsoft.GraphRelationshipID
	}
	return s
}

// record writes a step of the grant; the row's state (end date, extensions,
// auto-extend, Graph id) always goes with it.
func (w *delegatedAdmin) record(ctx workflow.Context, p activities.Progress) error {
	if p.DelegatedAdmin == nil {
		p.DelegatedAdmin = w.state()
	}
	return w.t.record(ctx, p)
}

// recordTermination writes the termination: from the update handler, or from
// run() in executions older than read-your-writes.
func (w *delegatedAdmin) recordTermination(ctx workflow.Context) error {
	w.t.setStep(ctx, "Terminated on request")
	p := activities.Progress{Status: models.DelegatedAdminTerminated, Event: "delegated_admin_terminated",
		Details: answerDetails(*w.terminate), DelegatedAdmin: w.state()}
	if !w.ended.inHandler {
		return w.t.record(ctx, p)
	}
	if w.t.status != models.DelegatedAdminActive {
		// It expired while the termination waited for the expiry's record.
		return temporal.NewApplicationError("this delegated admin relationship is no longer active ("+w.t.status+")", ErrTypeAlreadyDecided)
	}
	return w.t.decide(ctx, p)
}

func (w *delegatedAdmin) run(ctx workflow.Context) (DelegatedAdminStatus, error) {
	w.mail = newMailer(ctx, &w.t, w.logger)
	if w.pendingAtMicrosoft() {
		if ended, err := w.obtainAtMicrosoft(ctx); err != nil || ended {
			if err != nil {
				return w.status(ctx), err
			}
			return w.end(ctx)
		}
	}
	if w.followsMicrosoft() {
		w.listenToMicrosoft(ctx)
	}
	// Nothing recorded yet: a grant through Microsoft recorded its activation already.
	if w.t.seq == 0 {
		if err := w.record(ctx, activities.Progress{Status: models.DelegatedAdminActive, Event: "delegated_admin_activated", Details: map[string]string{"ends_at": w.in.EndsAt.Format(time.RFC3339)}}); err != nil {
			return w.status(ctx), err
		}
	}
	for {
		wake, err := w.awaitNext(ctx)
		if err != nil {
			return w.status(ctx), err
		}
		next, err := w.act(ctx, wake)
		switch {
		case err != nil:
			return w.status(ctx), err
		case next == turnEnd:
			return w.end(ctx)
		case next == turnContinueAsNew:
			return w.continueAsNew(ctx)
		case next == turnStep && workflow.GetInfo(ctx).GetContinueAsNewSuggested():
			return w.continueAsNew(ctx)
		}
	}
}

// wakeup is why the active grant's wait ended.
type wakeup struct {
	woken    bool // an update (terminate, auto-extend) or Microsoft's signal came first
	check    bool // the wait was until the next look at Microsoft
	isNotice bool // the deadline was a notice, not the end date
	days     int  // which notice
}

// turn says what the active loop does after an action.
type turn int

const (
	turnAgain         turn = iota // wait again at once
	turnStep                      // a step was taken: continue as new if suggested, then wait
	turnEnd                       // the grant ended
	turnContinueAsNew             // a new period begins in a new run
)

// awaitNext waits for the next notice, the end date or the next look at
// Microsoft: one timer, cancelled when an update or a signal wins.
func (w *delegatedAdmin) awaitNext(ctx workflow.Context) (wakeup, error) {
	now := workflow.Now(ctx)
	days, deadline, isNotice := w.nextNotice(now)
	if !isNotice {
		deadline = w.in.EndsAt
	}
	next := "the end"
	if isNotice {
		next = fmt.Sprintf("the %d-day notice", days)
	}
	w.t.setStep(ctx, fmt.Sprintf("Active until %s; next: %s", w.in.EndsAt.Format("2 Jan 2006"), next))
	autoExtend := w.in.AutoExtend
	w.quiet = true
	timeout := deadline.Sub(now)
	check := w.followsMicrosoft() && w.in.Microsoft.NextCheck.Before(deadline)
	if check {
		timeout = max(w.in.Microsoft.NextCheck.Sub(now), 0)
	}
	woken, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool {
		return w.terminate != nil || w.in.AutoExtend != autoExtend || w.graphChanged
	})
	// Busy until the next wait, unless terminating: then the handler records.
	w.quiet = w.terminate != nil
	return wakeup{woken: woken, check: check, isNotice: isNotice, days: days}, err
}

// act does what the wakeup calls for.
func (w *delegatedAdmin) act(ctx workflow.Context, wake wakeup) (turn, error) {
	switch {
	case w.terminate != nil:
		return turnEnd, w.terminated(ctx)
	case w.graphChanged || (!wake.woken && wake.check):
		// Microsoft said something changed, or it is time to look.
		return w.checkedAtMicrosoft(ctx)
	case wake.woken:
		return turnAgain, w.autoExtendChanged(ctx)
	case wake.isNotice:
		return turnStep, w.notice(ctx, wake.days)
	case w.followsMicrosoft() && !w.in.Microsoft.CheckedEnd:
		// At the end date Microsoft decides: it extends (P180D) or expires.
		w.in.Microsoft.CheckedEnd = true
		return w.checkedAtMicrosoft(ctx)
	case w.in.AutoExtend:
		return turnContinueAsNew, w.autoExtended(ctx)
	default:
		return turnEnd, w.expired(ctx)
	}
}

// terminated records the termination (unless its handler did) and carries it to Microsoft.
func (w *delegatedAdmin) terminated(ctx workflow.Context) error {
	recorded, err := w.ended.settled(ctx)
	if err == nil && !recorded {
		err = w.recordTermination(ctx)
	}
	if err == nil && w.followsMicrosoft() {
		err = w.terminateAtMicrosoft(ctx)
	}
	return err
}

// checkedAtMicrosoft reads the relationship at Microsoft: the grant ends
// when Microsoft ended it, otherwise the loop waits again.
func (w *delegatedAdmin) checkedAtMicrosoft(ctx workflow.Context) (turn, error) {
	ended, err := w.checkMicrosoft(ctx)
	if ended {
		return turnEnd, err
	}
	return turnAgain, err
}

func (w *delegatedAdmin) autoExtendChanged(ctx workflow.Context) error {
	if w.followsMicrosoft() {
		if err := w.setAutoExtendAtMicrosoft(ctx); err != nil {
			return err
		}
	}
	return w.record(ctx, activities.Progress{Status: models.DelegatedAdminActive, Event: "auto_extend_changed", Details: map[string]string{"auto_extend": fmt.Sprint(w.in.AutoExtend)}})
}

// autoExtended starts the next period (this product's own lifecycle only).
func (w *delegatedAdmin) autoExtended(ctx workflow.Context) error {
	w.in.EndsAt = w.in.EndsAt.Add(models.AutoExtendPeriod)
	w.in.Extensions++
	w.in.NoticesSent = nil
	if err := w.record(ctx, activities.Progress{Status: models.DelegatedAdminActive, Event: "auto_extended", Details: map[string]string{"ends_at": w.in.EndsAt.Format(time.RFC3339)}}); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, SearchEndsAt.ValueSet(w.in.EndsAt))
}

func (w *delegatedAdmin) expired(ctx workflow.Context) error {
	w.t.setStep(ctx, "Expired")
	if err := w.record(ctx, activities.Progress{Status: models.DelegatedAdminExpired, Event: "delegated_admin_expired"}); err != nil {
		return err
	}
	return w.mail.sendNow(ctx, partnerNotice("delegated-admin:"+w.in.DelegatedAdminID+":expired", w.in.Reseller, emails.DelegatedAdminExpired,
		emails.Data{CustomerID: w.in.CustomerID, EndsAt: w.in.EndsAt}))
}

func (w *delegatedAdmin) notice(ctx workflow.Context, days int) error {
	notice := emails.Data{CustomerID: w.in.CustomerID, Roles: roles.Names(w.in.Roles), EndsAt: w.in.EndsAt, Days: days, AutoExtend: w.in.AutoExtend, ExtendDays: autoExtendDays()}
	key := fmt.Sprintf("delegated-admin:%s:notice:%s:%d", w.in.DelegatedAdminID, w.in.EndsAt.Format("20060102"), days)
	if !w.mail.async {
		if err := sendEmail(ctx, partnerNotice(key, w.in.Reseller, emails.DelegatedAdminNotice, notice)); err != nil {
			return err
		}
		w.in.NoticesSent = append(w.in.NoticesSent, days)
		return w.record(ctx, activities.Progress{Status: models.DelegatedAdminActive, Event: "notice_sent", Details: map[string]string{"days_before_end": fmt.Sprint(days)}})
	}
	// Marked at once, so the loop goes on to the next date while the notice goes out.
	w.in.NoticesSent = append(w.in.NoticesSent, days)
	return w.mail.send(ctx, partnerNotice(key, w.in.Reseller, emails.DelegatedAdminNotice, notice), func(ctx workflow.Context) error {
		return w.t.record(ctx, activities.Progress{Event: "notice_sent", Details: map[string]string{"days_before_end": fmt.Sprint(days)}, DelegatedAdmin: w.state()})
	})
}

func (w *delegatedAdmin) continueAsNew(ctx workflow.Context) (DelegatedAdminStatus, error) {
	w.quiet = true
	if err := w.mailSettled(ctx); err != nil {
		return w.status(ctx), err
	}
	if err := w.finish(ctx); err != nil {
		return w.status(ctx), err
	}
	if w.ended.inHandler {
		// Terminated while extending: the termination is recorded, so end here.
		if _, err := w.ended.settled(ctx); err != nil {
			return w.status(ctx), err
		}
		return w.end(ctx)
	}
	next := w.in
	next.Seq = w.t.seq
	return w.status(ctx), workflow.NewContinueAsNewError(ctx, DelegatedAdminWorkflow, next)
}

func (w *delegatedAdmin) end(ctx workflow.Context) (DelegatedAdminStatus, error) {
	w.quiet = true
	if err := w.mailSettled(ctx); err != nil {
		return w.status(ctx), err
	}
	return w.status(ctx), w.finish(ctx)
}
