package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

// SearchBulkJob is set on every row's onboarding workflow, so that a job's
// workflows are found together: BulkJobId = "<job id>".
var SearchBulkJob = temporal.NewSearchAttributeKeyKeyword("BulkJobId")

// KindBulkJob is a bulk job's kind in workflow_starts.
const KindBulkJob = models.KindBulkJob

// BulkJobWorkflowID is a job's workflow ID.
func BulkJobWorkflowID(id string) string { return models.BulkJobLifecycle.WorkflowID(id) }

// Updates of a bulk job.
const (
	UpdatePause  = "pause"
	UpdateResume = "resume"
	// UpdateCancel ("cancel") ends a job too; its argument is a BulkCancel.
)

// BulkCancel asks a job to stop; CancelWaiting also withdraws its started
// rows still waiting for their customer.
type BulkCancel struct {
	CancelWaiting bool `json:"cancel_waiting"`
}

// BulkJobInput starts a job; the fields after Total carry its state across
// continue-as-new.
type BulkJobInput struct {
	JobID          string
	Kind           string // models.BulkKindExtension or models.BulkKindInvitation
	Reseller       Party
	Provider       Party
	Locale         string
	Message        string
	ConsentMethod  string
	DelegatedAdmin *models.DelegatedAdminRequest
	Reminders      []time.Duration // of each row's onboarding
	ExpireAfter    time.Duration
	Total          int
	PerMinute      int           // rows started per minute at most (BULK_SEND_RATE)
	MaxInFlight    int           // started rows whose request is not yet sent, at most
	RowsPerRun     int           // rows started before the job continues as new
	PollEvery      time.Duration // how often outcomes are counted once every row started
	// Microsoft: each row waits for Microsoft too (MICROSOFT_MODE live or
	// simulated); nil in off mode.
	Microsoft *BulkAtMicrosoft `json:",omitempty"`

	NextRow   int // 1-based; Total+1 once every row was prepared
	Paused    bool
	Cancel    *BulkCancel
	CancelRow int // the waiting rows up to here were withdrawn
}

// BulkJobStatus answers the status query.
type BulkJobStatus struct {
	JobID    string         `json:"job_id"`
	Status   string         `json:"status"`
	NextRow  int            `json:"next_row"`
	Counts   map[string]int `json:"counts"`
	Progress string         `json:"progress"`
}

type bulkJob struct {
	in      BulkJobInput
	status  string
	counts  map[string]int
	started int // rows started in this run
	logger  log.Logger
}

// BulkJobWorkflow starts the onboarding of every row of a job at the send
// rate, counts the outcomes until every row's onboarding ended, and
// continues as new every RowsPerRun rows so its history stays bounded.
func BulkJobWorkflow(ctx workflow.Context, in BulkJobInput) (BulkJobStatus, error) {
	w := &bulkJob{in: in}
	if err := w.setup(ctx); err != nil {
		return w.query(), err
	}
	return w.run(ctx)
}

func (w *bulkJob) query() BulkJobStatus {
	return BulkJobStatus{JobID: w.in.JobID, Status: w.status, NextRow: w.in.NextRow, Counts: w.counts, Progress: BulkProgressLine(w.in.Total, w.counts)}
}

func (w *bulkJob) setup(ctx workflow.Context) error {
	if w.in.NextRow == 0 {
		w.in.NextRow = 1
	}
	w.status = models.BulkJobRunning
	switch {
	case w.in.Cancel != nil:
		w.status = models.BulkJobCancelled
	case w.in.Paused:
		w.status = models.BulkJobPaused
	}
	w.counts = map[string]int{}
	w.logger = log.With(workflow.GetLogger(ctx), "job_id", w.in.JobID)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (BulkJobStatus, error) { return w.query(), nil }); err != nil {
		return err
	}
	open := func() error {
		if w.in.Cancel != nil || w.status == models.BulkJobCompleted {
			return temporal.NewApplicationError("this job has ended (status "+w.status+")", ErrTypeAlreadyDecided)
		}
		return nil
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdatePause, func(ctx workflow.Context) (string, error) {
		w.in.Paused = true
		return w.record(ctx, models.BulkJobPaused)
	}, workflow.UpdateHandlerOptions{Validator: func() error {
		if err := open(); err != nil {
			return err
		}
		if w.in.Paused {
			return temporal.NewApplicationError("this job is paused already", ErrTypeAlreadyDecided)
		}
		return nil
	}}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateResume, func(ctx workflow.Context) (string, error) {
		w.in.Paused = false
		return w.record(ctx, models.BulkJobRunning)
	}, workflow.UpdateHandlerOptions{Validator: func() error {
		if err := open(); err != nil {
			return err
		}
		if !w.in.Paused {
			return temporal.NewApplicationError("this job is not paused", ErrTypeAlreadyDecided)
		}
		return nil
	}}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, func(ctx workflow.Context, c BulkCancel) (string, error) {
		w.in.Cancel = &c
		return w.record(ctx, models.BulkJobCancelled)
	}, workflow.UpdateHandlerOptions{Validator: func(BulkCancel) error { return open() }})
}

// record writes the job's status before an update answers (read-your-writes).
func (w *bulkJob) record(ctx workflow.Context, status string) (string, error) {
	w.status = status
	err := workflow.ExecuteLocalActivity(withLocalActivityOptions(ctx), a.SetBulkJobStatus, w.in.JobID, status).Get(ctx, nil)
	return status, err
}

func (w *bulkJob) run(ctx workflow.Context) (BulkJobStatus, error) {
	for {
		if w.in.Cancel != nil {
			return w.cancel(ctx)
		}
		if w.in.Paused {
			workflow.SetCurrentDetails(ctx, "Paused at "+BulkProgressLine(w.in.Total, w.counts))
			if err := workflow.Await(ctx, func() bool { return !w.in.Paused || w.in.Cancel != nil }); err != nil {
				return w.query(), err
			}
			continue
		}
		if err := w.count(ctx); err != nil {
			return w.query(), err
		}
		if w.in.NextRow > w.in.Total {
			if w.open() == 0 {
				w.status = models.BulkJobCompleted
				if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.SetBulkJobStatus, w.in.JobID, models.BulkJobCompleted).Get(ctx, nil); err != nil {
					return w.query(), err
				}
				return w.query(), workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			}
			if err := w.sleep(ctx, w.in.PollEvery); err != nil {
				return w.query(), err
			}
		} else if err := w.startBatch(ctx); err != nil {
			return w.query(), err
		}
		if w.started >= w.in.RowsPerRun || workflow.GetInfo(ctx).GetCurrentHistoryLength() > bulkMaxHistory {
			return w.query(), w.continueAsNew(ctx)
		}
	}
}

// bulkMaxHistory bounds one run's history while the job polls outcomes.
const bulkMaxHistory = 4000

// withBulkActivityOptions: a batch takes well under a second, so an
// attempt lost with its worker (kill -9) is retried after seconds, not the
// default half minute.
func withBulkActivityOptions(ctx workflow.Context) workflow.Context {
	ao := workflow.GetActivityOptions(withActivityOptions(ctx))
	ao.StartToCloseTimeout = 10 * time.Second
	return workflow.WithActivityOptions(ctx, ao)
}

// sleep waits, and wakes early for a pause or a cancel.
func (w *bulkJob) sleep(ctx workflow.Context, d time.Duration) error {
	paused := w.in.Paused
	_, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return w.in.Cancel != nil || w.in.Paused != paused })
	return err
}

// open counts the rows whose outcome is not known yet.
func (w *bulkJob) open() int {
	return w.counts[models.BulkRowPending] + w.counts[models.BulkRowStarted] + w.counts["sent"] + w.counts["consented"]
}

func (w *bulkJob) count(ctx workflow.Context) error {
	var counts map[string]int
	if err := workflow.ExecuteActivity(withBulkActivityOptions(ctx), a.BulkJobProgress, w.in.JobID).Get(ctx, &counts); err != nil {
		return err
	}
	w.counts = counts
	workflow.SetCurrentDetails(ctx, BulkProgressLine(w.in.Total, counts))
	return nil
}

// startBatch starts as many rows as the send rate and the in-flight limit
// allow, then waits for the rate's next slot.
func (w *bulkJob) startBatch(ctx workflow.Context) error {
	perSecond := max(1, w.in.PerMinute/60)
	budget := min(perSecond, w.in.MaxInFlight-w.counts[models.BulkRowStarted], w.in.RowsPerRun-w.started)
	if budget <= 0 {
		return w.sleep(ctx, time.Second)
	}
	began := workflow.Now(ctx)
	var prepared activities.PreparedBulkRows
	if err := workflow.ExecuteActivity(withBulkActivityOptions(ctx), a.PrepareBulkRows, activities.PrepareBulkRowsInput{
		JobID: w.in.JobID, FromRow: w.in.NextRow, Limit: budget, ExpireAfter: w.in.ExpireAfter,
	}).Get(ctx, &prepared); err != nil {
		return err
	}
	futures := make([]workflow.ChildWorkflowFuture, 0, len(prepared.Starts))
	for _, r := range prepared.Starts {
		futures = append(futures, w.startRow(ctx, r))
	}
	for i, f := range futures {
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		switch {
		case errors.As(err, &started):
			// Started before under the same ID (a restart, the sweeper): adopted, never twice.
			w.logger.Info("Row's onboarding exists already", "row", prepared.Starts[i].RowNo)
		case err != nil:
			w.logger.Error("Row's onboarding could not be started", "row", prepared.Starts[i].RowNo, "error", err)
		}
	}
	w.started += len(prepared.Starts) + prepared.Adopted + prepared.Refused
	w.in.NextRow = prepared.NextRow
	if len(prepared.Starts)+prepared.Adopted+prepared.Refused < budget {
		w.in.NextRow = w.in.Total + 1 // no rows after these
	}
	// Pace the starts: PerMinute rows a minute.
	slot := time.Duration(len(prepared.Starts)) * time.Minute / time.Duration(max(1, w.in.PerMinute))
	if wait := slot - workflow.Now(ctx).Sub(began); wait > 0 {
		return w.sleep(ctx, wait)
	}
	return nil
}

// startRow starts a row's onboarding as a child that outlives the job's
// run (a continue-as-new or a cancelled job leaves it going).
func (w *bulkJob) startRow(ctx workflow.Context, r activities.BulkRowStart) workflow.ChildWorkflowFuture {
	attrs := []temporal.SearchAttributeUpdate{SearchBulkJob.ValueSet(w.in.JobID), SearchReseller.ValueSet(w.in.Reseller.ID),
		SearchProvider.ValueSet(w.in.Provider.ID)}
	if r.CustomerID != "" {
		attrs = append(attrs, SearchCustomer.ValueSet(r.CustomerID))
	}
	opts := workflow.ChildWorkflowOptions{
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	}
	if w.in.Kind == models.BulkKindExtension {
		opts.WorkflowID = ExtensionWorkflowID(r.SubjectID)
		opts.StaticSummary = "Extension of " + r.CustomerName + " to " + w.in.Provider.Name
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(append(attrs, SearchKind.ValueSet(KindExtension),
			SearchStatus.ValueSet(models.ExtensionWaitingForConsent))...)
		return workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), ExtensionWorkflow, ExtensionInput{
			ExtensionID: r.SubjectID, Reseller: w.in.Reseller, Provider: w.in.Provider, CustomerID: r.CustomerID, CustomerName: r.CustomerName,
			CustomerEmail: r.CustomerEmail, Locale: w.in.Locale, Method: w.in.ConsentMethod, Reminders: w.in.Reminders, ExpireAfter: w.in.ExpireAfter,
			Microsoft: w.in.Microsoft.extension(r),
		})
	}
	opts.WorkflowID = InvitationWorkflowID(r.SubjectID)
	opts.StaticSummary = "Invitation of " + r.CustomerEmail + " by " + w.in.Reseller.Name
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(append(attrs, SearchKind.ValueSet(KindInvitation),
		SearchStatus.ValueSet(models.InvitationWaitingForCustomer))...)
	return workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), InvitationWorkflow, InvitationInput{
		InvitationID: r.SubjectID, Reseller: w.in.Reseller, Provider: w.in.Provider, CustomerID: r.CustomerID,
		CustomerCompany: r.CustomerName, CustomerEmail: r.CustomerEmail, Message: w.in.Message, Locale: w.in.Locale,
		DelegatedAdmin: w.in.DelegatedAdmin, Reminders: w.in.Reminders, ExpireAfter: w.in.ExpireAfter,
		Microsoft: w.in.Microsoft.invitation(),
	})
}

// BulkAtMicrosoft is what a job's rows need to wait for Microsoft: the
// partners' tenants and Microsoft's acceptance link. A row's customer
// tenant is found from its contact address's domain.
type BulkAtMicrosoft struct {
	AcceptURL        string
	ResellerTenantID string
	ProviderTenantID string
	FirstPoll        time.Duration `json:",omitempty"`
}

func (m *BulkAtMicrosoft) invitation() *ResellerRelationshipRequest {
	if m == nil {
		return nil
	}
	return &ResellerRelationshipRequest{AcceptURL: m.AcceptURL, ResellerTenantID: m.ResellerTenantID, ProviderTenantID: m.ProviderTenantID, FirstPoll: m.FirstPoll}
}

func (m *BulkAtMicrosoft) extension(r activities.BulkRowStart) *ExtensionAtMicrosoft {
	if m == nil {
		return nil
	}
	return &ExtensionAtMicrosoft{ResellerTenantID: m.ResellerTenantID, ProviderTenantID: m.ProviderTenantID,
		CustomerDomain: models.EmailDomain(r.CustomerEmail), FirstPoll: m.FirstPoll}
}

// cancel skips the rows not started and, if asked, withdraws the started
// rows still waiting, a page at a time.
func (w *bulkJob) cancel(ctx workflow.Context) (BulkJobStatus, error) {
	w.status = models.BulkJobCancelled
	workflow.SetCurrentDetails(ctx, "Cancelled at "+BulkProgressLine(w.in.Total, w.counts))
	if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.SkipBulkRows, w.in.JobID).Get(ctx, nil); err != nil {
		return w.query(), err
	}
	for w.in.Cancel.CancelWaiting {
		var waiting []activities.BulkRowStart
		if err := workflow.ExecuteActivity(withActivityOptions(ctx), a.WaitingBulkRows, w.in.JobID, w.in.CancelRow, 100).Get(ctx, &waiting); err != nil {
			return w.query(), err
		}
		if len(waiting) == 0 {
			break
		}
		futures := make([]workflow.Future, 0, len(waiting))
		for _, r := range waiting {
			id := InvitationWorkflowID(r.SubjectID)
			if w.in.Kind == models.BulkKindExtension {
				id = ExtensionWorkflowID(r.SubjectID)
			}
			futures = append(futures, workflow.RequestCancelExternalWorkflow(ctx, id, ""))
		}
		for i, f := range futures {
			if err := f.Get(ctx, nil); err != nil {
				w.logger.Warn("Could not withdraw a waiting row", "row", waiting[i].RowNo, "error", err)
			}
		}
		w.in.CancelRow = waiting[len(waiting)-1].RowNo
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > bulkMaxHistory {
			return w.query(), w.continueAsNew(ctx)
		}
	}
	if err := w.count(ctx); err != nil {
		return w.query(), err
	}
	return w.query(), workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func (w *bulkJob) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, BulkJobWorkflow, w.in)
}

// BulkProgressLine reads like "1,240 / 5,000 sent · 310 consented · 12 failed".
func BulkProgressLine(total int, c map[string]int) string {
	sent := c["sent"] + c["consented"] + c[models.ExtensionCompleted] + c["declined"] + c[models.ExtensionExpired]
	consented := c["consented"] + c[models.ExtensionCompleted]
	failed := c[models.ExtensionFailed] + c[models.BulkRowRefused]
	return fmt.Sprintf("%s / %s sent · %s consented · %s failed", thousands(sent), thousands(total), thousands(consented), thousands(failed))
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
