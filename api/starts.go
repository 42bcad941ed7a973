package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/csp-onboarding/onboarding/metrics"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// startStore is what starting an onboarding reads and writes: the row with
// its Idempotency-Key and pending start, the rows a plan is built from, and
// the pending starts the sweeper settles.
type startStore interface {
	AppendEvent(ctx context.Context, e models.OnboardingEvent) (bool, error)
	BulkJob(ctx context.Context, id string) (models.BulkJob, error)
	CreateOnboarding(ctx context.Context, key *models.IdempotencyKey, row any, start models.WorkflowStart) (existingID string, err error)
	Enrollment(ctx context.Context, partnerID string) (models.Enrollment, error)
	Extension(ctx context.Context, id string) (models.RelationshipExtension, error)
	ForgetIdempotencyKey(ctx context.Context, partnerID, key string) error
	IdempotentResource(ctx context.Context, k models.IdempotencyKey) (resourceID string, found bool, err error)
	Invitation(ctx context.Context, id string) (models.Invitation, error)
	Partner(ctx context.Context, id string) (models.Partner, error)
	Partnership(ctx context.Context, id string) (models.Partnership, error)
	PendingStart(ctx context.Context, workflowID string) (bool, error)
	PendingStarts(ctx context.Context, before time.Time, limit int) ([]models.WorkflowStart, error)
	StartConfirmed(ctx context.Context, workflowID string) error
	TenantRequest(ctx context.Context, id string) (models.CustomerTenantRequest, error)
}

// startPlan is what it takes to start one onboarding's workflow. It is built
// from the onboarding's row (and the partners it names), so that the first
// request, a replay and the sweeper all start the same thing.
type startPlan struct {
	kind, subjectID string
	opts            client.StartWorkflowOptions
	workflow        any
	input           any
	// abandon ends the row when its start is proven not to have happened.
	abandon func(ctx context.Context, reason string) error
	// submission is set where an ID is reused (enrollments): it goes in the
	// run's memo, so that a run of an older submission is told apart.
	submission string
	// refuse says why the row cannot be started (what the workflow needs
	// was never kept); such a row is ended instead.
	refuse string
}

// pendingStart is the record written with a row, deleted once its workflow exists.
func pendingStart(kind, workflowID, subjectID string) models.WorkflowStart {
	return models.WorkflowStart{WorkflowID: workflowID, Kind: kind, SubjectID: subjectID}
}

// launch starts a plan's workflow and settles what happened: started (now or
// earlier, under its deterministic ID) confirms the pending start; proven not
// started after a definite refusal ends the row with a reason; anything
// Temporal cannot answer now is left pending for a retry or the sweeper, so an
// onboarding whose start merely looked failed is never marked failed.
func (s *Server) launch(ctx context.Context, p startPlan) error {
	_, err := s.temporal.ExecuteWorkflow(ctx, p.opts, p.workflow, p.input)
	if err == nil {
		s.metrics.OnboardingStarted(p.kind)
		s.confirm(ctx, p)
		return nil
	}
	// The client may have gone: reconcile with a context of our own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	started, derr := s.started(rctx, p)
	switch {
	case derr != nil:
		s.logger.WarnContext(ctx, "Workflow start not confirmed; it stays pending for a retry or the sweeper",
			"workflow_id", p.opts.ID, "error", err, "describe_error", derr)
		return startPendingError{err}
	case started:
		s.confirm(rctx, p)
		return nil
	}
	if alreadyStarted(err) {
		// An older run holds the ID (a rejected enrollment still telling the
		// reseller): wait for it to close, then start this submission.
		_ = s.temporal.GetWorkflow(rctx, p.opts.ID, "").Get(rctx, nil)
	}
	// Temporal has no run: the start did not happen. Try once more.
	_, rerr := s.temporal.ExecuteWorkflow(rctx, p.opts, p.workflow, p.input)
	switch {
	case rerr == nil:
		s.metrics.OnboardingStarted(p.kind)
		s.confirm(rctx, p)
		return nil
	case alreadyStarted(rerr):
		if ok, _ := s.started(rctx, p); ok {
			s.confirm(rctx, p)
			return nil
		}
		return rerr
	case ambiguous(rerr):
		s.logger.WarnContext(ctx, "Workflow start failed; it stays pending for a retry or the sweeper", "workflow_id", p.opts.ID, "error", rerr)
		return startPendingError{rerr}
	}
	// Temporal refused the start outright and holds no run: end the row so it
	// neither shows as waiting nor blocks a new attempt.
	s.logger.ErrorContext(ctx, "Workflow start refused; the onboarding is ended", "workflow_id", p.opts.ID, "error", rerr)
	if aerr := p.abandon(rctx, "the workflow service refused to start this onboarding; create it again"); aerr != nil {
		s.logger.ErrorContext(ctx, "Could not end an onboarding whose start was refused", "workflow_id", p.opts.ID, "error", aerr)
		return rerr
	}
	s.confirm(rctx, p)
	return rerr
}

// startPendingError: the onboarding is recorded, its start is left for a
// retry or the sweeper.
type startPendingError struct{ err error }

func (e startPendingError) Error() string { return "workflow start pending: " + e.err.Error() }
func (e startPendingError) Unwrap() error { return e.err }

// started tells whether Temporal holds a run of the plan's workflow (for
// enrollments: one started for this submission).
func (s *Server) started(ctx context.Context, p startPlan) (bool, error) {
	d, err := s.temporal.DescribeWorkflowExecution(ctx, p.opts.ID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if p.submission == "" {
		return true, nil
	}
	info := d.GetWorkflowExecutionInfo()
	field, ok := info.GetMemo().GetFields()[memoSubmission]
	if !ok {
		// A run started before runs carried their submission: only a
		// running one can be this submission's.
		return info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
	}
	var got string
	if err := converter.GetDefaultDataConverter().FromPayload(field, &got); err != nil {
		return false, err
	}
	return got == p.submission, nil
}

// memoSubmission is the memo field naming the submission a run is for.
const memoSubmission = "submission"

// ambiguous: an error that does not prove Temporal refused the start.
func ambiguous(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		canceled    *serviceerror.Canceled
		exhausted   *serviceerror.ResourceExhausted
		internal    *serviceerror.Internal
	)
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &canceled) ||
		errors.As(err, &exhausted) || errors.As(err, &internal) {
		return true
	}
	// Errors that are not Temporal's answers (transport, unknown) prove nothing either.
	var svc serviceerror.ServiceError
	return !errors.As(err, &svc)
}

func (s *Server) confirm(ctx context.Context, p startPlan) {
	if err := s.store.StartConfirmed(ctx, p.opts.ID); err != nil {
		s.logger.WarnContext(ctx, "Could not forget a confirmed start; the sweeper will check it again", "workflow_id", p.opts.ID, "error", err)
	}
}

// ensureStarted starts an onboarding found again (a replay, the sweeper)
// whose start is still unconfirmed: the first attempt may have died between
// its insert and its start.
func (s *Server) ensureStarted(ctx context.Context, ws models.WorkflowStart) error {
	pending, err := s.store.PendingStart(ctx, ws.WorkflowID)
	if err != nil || !pending {
		return err
	}
	p, waiting, err := s.planFor(ctx, ws)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s.store.StartConfirmed(ctx, ws.WorkflowID) // nothing left to start
	case err != nil:
		return err
	case !waiting:
		// Ended meanwhile (cancelled, abandoned): nothing to start.
		return s.store.StartConfirmed(ctx, ws.WorkflowID)
	case p.refuse != "":
		if started, err := s.started(ctx, p); err != nil || started {
			if started {
				s.confirm(ctx, p)
			}
			return err
		}
		if err := p.abandon(ctx, p.refuse); err != nil {
			return err
		}
		s.confirm(ctx, p)
		return nil
	}
	return s.launch(ctx, p)
}

// planFor loads an onboarding's row and plans its start; waiting is false
// when the row has moved on from its first status.
func (s *Server) planFor(ctx context.Context, ws models.WorkflowStart) (p startPlan, waiting bool, err error) {
	switch ws.Kind {
	case workflows.KindPartnership:
		row, err := s.store.Partnership(ctx, ws.SubjectID)
		if err != nil {
			return p, false, err
		}
		p, err = s.partnershipPlan(ctx, row)
		return p, row.Status == models.PartnershipInvited, err
	case workflows.KindInvitation:
		row, err := s.store.Invitation(ctx, ws.SubjectID)
		if err != nil {
			return p, false, err
		}
		p, err = s.invitationPlan(ctx, row)
		return p, row.Status == models.InvitationWaitingForCustomer, err
	case workflows.KindExtension:
		row, err := s.store.Extension(ctx, ws.SubjectID)
		if err != nil {
			return p, false, err
		}
		p, err = s.extensionPlan(ctx, row)
		return p, row.Status == models.ExtensionWaitingForConsent, err
	case workflows.KindTenantRequest:
		row, err := s.store.TenantRequest(ctx, ws.SubjectID)
		if err != nil {
			return p, false, err
		}
		p, err = s.tenantRequestPlan(ctx, row)
		return p, row.Status == models.TenantRequestWaitingForProvider, err
	case workflows.KindEnrollment:
		row, err := s.store.Enrollment(ctx, ws.SubjectID)
		if err != nil {
			return p, false, err
		}
		partner, err := s.store.Partner(ctx, row.PartnerID)
		if err != nil {
			return p, false, err
		}
		return s.enrollmentPlan(partner, row), row.Status == models.EnrollmentSubmitted, nil
	case workflows.KindBulkJob:
		job, err := s.store.BulkJob(ctx, ws.SubjectID)
		if err != nil {
			return p, false, err
		}
		p, err = s.bulkJobPlan(ctx, job)
		return p, job.FinishedAt == nil, err
	}
	return p, false, fmt.Errorf("unknown onboarding kind %q", ws.Kind)
}

// partners loads the two partners a row names.
func (s *Server) partners(ctx context.Context, a, b string) (models.Partner, models.Partner, error) {
	pa, err := s.store.Partner(ctx, a)
	if err != nil {
		return pa, models.Partner{}, err
	}
	pb, err := s.store.Partner(ctx, b)
	return pa, pb, err
}

func party(p models.Partner) workflows.Party {
	return workflows.Party{ID: p.ID, Name: p.Name, Email: p.ContactEmail}
}

// startFailed records on the timeline why an onboarding never started.
func (s *Server) startFailed(ctx context.Context, subjectID, reason string) error {
	_, err := s.store.AppendEvent(ctx, models.OnboardingEvent{SubjectID: subjectID, Seq: 0, Type: "start_failed", At: time.Now().UTC(),
		Details: map[string]string{"reason": reason}})
	return err
}

// requestKey is the Idempotency-Key record of a request (nil without a key).
func requestKey(key, partnerID, operation string, req any) (*models.IdempotencyKey, error) {
	if key == "" {
		return nil, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	return &models.IdempotencyKey{PartnerID: partnerID, Key: key, Operation: operation, RequestHash: hex.EncodeToString(sum[:])}, nil
}

// replayOf answers a request whose Idempotency-Key was used before: before
// any business check, the stored resource is loaded (and its workflow
// started if that never happened), so that a replay after success answers
// the original resource. found is false for a new key.
func replayOf[T any](ctx context.Context, s *Server, k *models.IdempotencyKey, load func(context.Context, string) (T, error), kind string, workflowID func(string) string) (row T, found bool, err error) {
	if k == nil {
		return row, false, nil
	}
	id, found, err := s.store.IdempotentResource(ctx, *k)
	if err != nil || !found {
		return row, false, err
	}
	row, err = load(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Bound by an older version to a row never written: free it.
		return row, false, s.store.ForgetIdempotencyKey(ctx, k.PartnerID, k.Key)
	}
	if err != nil {
		return row, false, err
	}
	return row, true, s.ensureStarted(ctx, pendingStart(kind, workflowID(id), id))
}

// createRow writes a new onboarding's row with its pending start and key.
// When a concurrent duplicate under the same key won, its row is returned
// instead (replayed true).
func createRow[T any](ctx context.Context, s *Server, k *models.IdempotencyKey, row *T, id, kind, workflowID string, load func(context.Context, string) (T, error), workflowIDOf func(string) string) (replayed bool, err error) {
	if k != nil {
		k.ResourceID = id
	}
	existing, err := s.store.CreateOnboarding(ctx, k, row, pendingStart(kind, workflowID, id))
	if err != nil || existing == "" {
		return false, err
	}
	if *row, err = load(ctx, existing); err != nil {
		return true, err
	}
	return true, s.ensureStarted(ctx, pendingStart(kind, workflowIDOf(existing), existing))
}

// createRequest is what every create handler hands to create: who asks,
// under which Idempotency-Key, for which operation, with which body.
type createRequest struct {
	partnerID, key, operation string
	body                      any
}

// newRow checks a create request and builds its row under the given ID,
// with how to start it from the parties the checks loaded.
type newRow[T any] func(id string, now time.Time) (T, func(T) startPlan, error)

// create is the one way a create handler begins an onboarding. A request
// whose Idempotency-Key was used before answers the stored row (replayOf)
// before any check; otherwise build checks the request and returns the new
// row, and createAndStart claims the key, inserts the row with its pending
// start, starts the workflow and clears the pending start. A
// store.ErrConflict is the row's own conflict, for the handler to explain.
func create[T any](ctx context.Context, s *Server, r createRequest, kind models.Lifecycle,
	load func(context.Context, string) (T, error), build newRow[T]) (T, error) {
	k, err := requestKey(r.key, r.partnerID, r.operation, r.body)
	if err != nil {
		var zero T
		return zero, err
	}
	if row, found, err := replayOf(ctx, s, k, load, kind.Kind, kind.WorkflowID); err != nil || found {
		return row, err
	}
	id := newID()
	row, plan, err := build(id, time.Now().UTC())
	if err != nil {
		return row, err
	}
	return row, createAndStart(ctx, s, k, kind, id, &row, load, plan)
}

// createAndStart inserts a checked row with its pending start and key
// (createRow), then starts the workflow (launch), which clears the pending
// start. A concurrent duplicate that won the key is read back into row
// instead, and its start is made sure of.
func createAndStart[T any](ctx context.Context, s *Server, k *models.IdempotencyKey, kind models.Lifecycle, id string, row *T,
	load func(context.Context, string) (T, error), plan func(T) startPlan) error {
	replayed, err := createRow(ctx, s, k, row, id, kind.Kind, kind.WorkflowID(id), load, kind.WorkflowID)
	if err != nil || replayed {
		return err
	}
	return s.launch(ctx, plan(*row))
}

// Sweeper finds onboardings whose workflow start was never confirmed (the
// process died between the insert and the start, or Temporal was away) and
// starts them from their rows. Several replicas may sweep at once: starts
// use the deterministic workflow ID, so a second start is refused as a
// duplicate and counts as started.
type Sweeper struct {
	s *Server
}

// NewSweeper builds a sweeper over the API's dependencies.
func NewSweeper(d Deps) *Sweeper {
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{s: &Server{store: d.Store, temporal: d.Temporal, cfg: d.Config, logger: d.Logger, metrics: d.Metrics}}
}

// Sweep settles the pending starts recorded more than olderThan ago; it
// returns how many it looked at.
func (w *Sweeper) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	n := 0
	for {
		batch, err := w.s.store.PendingStarts(ctx, time.Now().Add(-olderThan), 100)
		if err != nil {
			return n, err
		}
		settled := 0
		for _, ws := range batch {
			if err := w.s.ensureStarted(ctx, ws); err != nil {
				w.s.logger.WarnContext(ctx, "Sweeper could not start an onboarding; next sweep tries again",
					"workflow_id", ws.WorkflowID, "error", err)
				continue
			}
			settled++
		}
		n += len(batch)
		// A short batch is the end; a batch where nothing settled means
		// Temporal is away: wait for the next sweep rather than spin.
		if len(batch) < 100 || settled == 0 {
			return n, nil
		}
	}
}

// Run sweeps at once and then every interval until ctx ends.
func (w *Sweeper) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.Sweep(ctx, every); err != nil && ctx.Err() == nil {
			w.s.logger.WarnContext(ctx, "Sweep of pending workflow starts failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
