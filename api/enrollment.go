package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// enrollmentStore is what the enrollment handlers read and write.
type enrollmentStore interface {
	Enrollment(ctx context.Context, partnerID string) (models.Enrollment, error)
	SetEnrollmentStatus(ctx context.Context, partnerID, status, reason string) error
	SubmitEnrollment(ctx context.Context, partnerID, workflowID string) (models.Enrollment, error)
}

// SubmitEnrollment: a reseller asks to be approved as an indirect reseller.
func (s *Server) SubmitEnrollment(ctx context.Context, _ oapi.SubmitEnrollmentRequestObject) (oapi.SubmitEnrollmentResponseObject, error) {
	me := currentPartner(ctx)
	if me.Type != models.PartnerTypeReseller {
		return nil, problem(http.StatusForbidden, CodeForbidden, "only a reseller enrolls as an indirect reseller")
	}
	e, err := s.store.SubmitEnrollment(ctx, me.ID, workflows.EnrollmentWorkflowID(me.ID))
	resubmitted := err == nil
	if errors.Is(err, store.ErrConflict) {
		current, lerr := s.store.Enrollment(ctx, me.ID)
		if lerr != nil {
			return nil, lerr
		}
		if current.Status == models.EnrollmentApproved {
			return nil, problem(http.StatusConflict, CodeConflict, "your enrollment is already approved")
		}
		e = current // submitted already: answer as the first time did, and make sure its workflow runs
	} else if err != nil {
		return nil, err
	}
	if !resubmitted {
		// The same submission again: make sure its workflow runs, in case the
		// first attempt died before its start.
		if err := s.ensureStarted(ctx, pendingStart(workflows.KindEnrollment, e.WorkflowID, me.ID)); err != nil {
			return nil, err
		}
	} else if err := s.launch(ctx, s.enrollmentPlan(me, e)); err != nil {
		return nil, err
	}
	return oapi.SubmitEnrollment202JSONResponse{Body: enrollmentView(e), Headers: oapi.SubmitEnrollment202ResponseHeaders{Location: "/v1/me"}}, nil
}

// enrollmentPlan plans an enrollment's start. A rejected enrollment may be
// submitted again under the same workflow ID, so only a run started for this
// submission counts.
func (s *Server) enrollmentPlan(partner models.Partner, e models.Enrollment) startPlan {
	opts := startOptions(s.cfg.TemporalTaskQueue, e.WorkflowID, "Enrollment of "+partner.Name,
		workflows.SearchKind.ValueSet(workflows.KindEnrollment), workflows.SearchStatus.ValueSet(models.EnrollmentSubmitted),
		workflows.SearchReseller.ValueSet(partner.ID))
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	submission := e.SubmittedAt.UTC().Format(time.RFC3339Nano)
	opts.Memo = map[string]any{memoSubmission: submission}
	return startPlan{kind: workflows.KindEnrollment, subjectID: partner.ID, opts: opts, submission: submission,
		workflow: workflows.EnrollmentWorkflow,
		input: workflows.EnrollmentInput{
			Partner: party(partner), OperatorEmail: s.cfg.OperatorEmail, RemindAfter: s.cfg.Timing.EnrollmentReminder,
			EscalateAfterBusinessDays: s.cfg.Timing.EnrollmentEscalation,
		},
		abandon: func(ctx context.Context, reason string) error {
			if err := s.store.SetEnrollmentStatus(ctx, partner.ID, models.EnrollmentRejected, reason); err != nil {
				return err
			}
			return s.startFailed(ctx, partner.ID, reason)
		},
	}
}

func enrollmentView(e models.Enrollment) oapi.Enrollment {
	return oapi.Enrollment{Status: oapi.EnrollmentStatus(e.Status), SubmittedAt: e.SubmittedAt, WorkflowId: e.WorkflowID,
		DecidedAt: valueOf(e.DecidedAt), Reason: e.Reason}
}

func (s *Server) ApproveEnrollment(ctx context.Context, request oapi.ApproveEnrollmentRequestObject) (oapi.ApproveEnrollmentResponseObject, error) {
	e, err := s.decideEnrollment(ctx, request.PartnerId, workflows.UpdateApprove, request.Body.Reason)
	if err != nil {
		return nil, err
	}
	return oapi.ApproveEnrollment200JSONResponse{EnrollmentBodyJSONResponse: oapi.EnrollmentBodyJSONResponse(e)}, nil
}

func (s *Server) RejectEnrollment(ctx context.Context, request oapi.RejectEnrollmentRequestObject) (oapi.RejectEnrollmentResponseObject, error) {
	e, err := s.decideEnrollment(ctx, request.PartnerId, workflows.UpdateReject, request.Body.Reason)
	if err != nil {
		return nil, err
	}
	return oapi.RejectEnrollment200JSONResponse{EnrollmentBodyJSONResponse: oapi.EnrollmentBodyJSONResponse(e)}, nil
}

// decideEnrollment: an operator approves or rejects.
func (s *Server) decideEnrollment(ctx context.Context, partnerID, update, reason string) (oapi.Enrollment, error) {
	e, err := s.store.Enrollment(ctx, partnerID)
	if errors.Is(err, store.ErrNotFound) {
		return oapi.Enrollment{}, notFoundProblem("enrollment")
	}
	if err != nil {
		return oapi.Enrollment{}, err
	}
	if update == workflows.UpdateReject && strings.TrimSpace(reason) == "" {
		return oapi.Enrollment{}, validationProblem([]FieldError{{Field: "reason", Message: "is required when rejecting: tell the reseller what to fix"}})
	}
	if err := checkReason(reason, 1000, false); err != nil {
		return oapi.Enrollment{}, err
	}
	if e.Status != models.EnrollmentSubmitted {
		return oapi.Enrollment{}, problem(http.StatusConflict, CodeConflict, "this enrollment is already "+e.Status)
	}
	var status string
	if err := s.update(ctx, e.WorkflowID, update, &status, workflows.Answer{Reason: reason}); err != nil {
		return oapi.Enrollment{}, err
	}
	e.Status = status
	return enrollmentView(e), nil
}
