package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
)

// bulkJobStore is what the bulk job activities read and write, with what the
// single routes' checks read (rules.Store).
type bulkJobStore interface {
	rules.Store
	BulkCounts(ctx context.Context, job models.BulkJob) (store.BulkProgress, error)
	BulkJob(ctx context.Context, id string) (models.BulkJob, error)
	BulkRowsFrom(ctx context.Context, jobID string, fromRow, limit int) ([]models.BulkJobRow, error)
	CreateExtensionOnce(ctx context.Context, x *models.RelationshipExtension) (existingID string, err error)
	CreateInvitation(ctx context.Context, inv *models.Invitation) error
	Customer(ctx context.Context, id string) (models.Customer, error)
	SetBulkJobStatus(ctx context.Context, id, status string) error
	SettleBulkRow(ctx context.Context, r models.BulkJobRow) error
	SkipPendingBulkRows(ctx context.Context, jobID string) error
	WaitingBulkSubjects(ctx context.Context, job models.BulkJob, afterRow, limit int) ([]models.BulkJobRow, error)
}

// PrepareBulkRowsInput asks for the next rows of a job to start.
type PrepareBulkRowsInput struct {
	JobID       string
	FromRow     int
	Limit       int
	ExpireAfter time.Duration // of each row's onboarding
}

// BulkRowStart is a row whose onboarding row exists and whose workflow the
// job starts.
type BulkRowStart struct {
	RowNo         int
	SubjectID     string
	CustomerID    string
	CustomerName  string
	CustomerEmail string
}

// PreparedBulkRows are the starts of a batch, and where the next batch begins.
type PreparedBulkRows struct {
	Starts  []BulkRowStart
	NextRow int
	Refused int
	Adopted int
}

// BulkSubjectID is the onboarding ID of a job's row: derived from the job
// and the row, so a retried or restarted job finds the same onboarding.
func BulkSubjectID(jobID string, rowNo int) string { return fmt.Sprintf("%s-r%05d", jobID, rowNo) }

// PrepareBulkRows writes the onboarding rows of the next rows of a job,
// checking each against the rules again (state may have changed since the
// request). A row that breaks a rule is refused with its code; a row whose
// customer already has an extension waiting is adopted (that onboarding
// becomes the row's, nothing is started). Rows prepared by an earlier
// attempt are returned again, so a retry never loses a start; starting
// twice is prevented by the deterministic workflow IDs.
func (a *Activities) PrepareBulkRows(ctx context.Context, in PrepareBulkRowsInput) (PreparedBulkRows, error) {
	out := PreparedBulkRows{NextRow: in.FromRow}
	job, err := a.Store.BulkJob(ctx, in.JobID)
	if err != nil {
		return out, err
	}
	rows, err := a.Store.BulkRowsFrom(ctx, in.JobID, in.FromRow, in.Limit)
	if err != nil {
		return out, err
	}
	for _, r := range rows {
		out.NextRow = r.RowNo + 1
		if r.State == models.BulkRowPending {
			if r, err = a.settleBulkRow(ctx, job, r, in.ExpireAfter); err != nil {
				return out, err
			}
		}
		switch {
		case r.State == models.BulkRowRefused:
			out.Refused++
		case r.State == models.BulkRowStarted && r.Adopted:
			out.Adopted++
		case r.State == models.BulkRowStarted:
			start := BulkRowStart{RowNo: r.RowNo, SubjectID: r.SubjectID, CustomerID: r.CustomerID, CustomerName: r.CompanyName, CustomerEmail: r.Email}
			out.Starts = append(out.Starts, start)
		}
	}
	return out, nil
}

// settleBulkRow checks a pending row and writes its onboarding.
func (a *Activities) settleBulkRow(ctx context.Context, job models.BulkJob, r models.BulkJobRow, expireAfter time.Duration) (models.BulkJobRow, error) {
	logger := activity.GetLogger(ctx)
	r.SubjectID = BulkSubjectID(job.ID, r.RowNo)
	now := time.Now().UTC()
	var err error
	if job.Kind == models.BulkKindExtension {
		_, err = rules.CheckExtension(ctx, a.Store, rules.Extension{ResellerID: job.ResellerID, ProviderID: job.ProviderID, CustomerID: r.CustomerID, ShareBillTo: true})
	} else if r.CustomerID != "" {
		err = rules.CheckInvitationCustomer(ctx, a.Store, job.ResellerID, job.ProviderID, r.CustomerID)
	}
	if v, ok := rules.AsViolation(err); ok {
		r.State, r.Code, r.Reason, r.SubjectID = models.BulkRowRefused, string(v.Code), v.Detail, ""
		logger.Info("Bulk row refused", "job_id", job.ID, "row", r.RowNo, "code", v.Code)
		return r, a.Store.SettleBulkRow(ctx, r)
	}
	if err != nil {
		return r, err
	}
	if r.CustomerID != "" {
		c, err := a.Store.Customer(ctx, r.CustomerID)
		if err != nil {
			return r, err
		}
		r.CompanyName, r.Email = c.CompanyName, c.ContactEmail
	}
	r.State = models.BulkRowStarted
	if job.Kind == models.BulkKindExtension {
		x := models.RelationshipExtension{ID: r.SubjectID, ResellerID: job.ResellerID, ProviderID: job.ProviderID, CustomerID: r.CustomerID,
			Status: models.ExtensionWaitingForConsent, ConsentMethod: job.Options.ConsentMethod, Locale: job.Options.Locale,
			ResellerTenantID: job.Options.ResellerTenantID, ProviderTenantID: job.Options.ProviderTenantID,
			WorkflowID: "extension:" + r.SubjectID, ExpiresAt: now.Add(expireAfter), CreatedAt: now, UpdatedAt: now}
		existing, err := a.Store.CreateExtensionOnce(ctx, &x)
		if err != nil {
			return r, err
		}
		if existing != "" {
			r.SubjectID, r.Adopted = existing, true
		}
	} else {
		inv := models.Invitation{ID: r.SubjectID, ResellerID: job.ResellerID, ProviderID: job.ProviderID, CustomerCompany: r.CompanyName, CustomerEmail: r.Email,
			Message: job.Options.Message, Locale: job.Options.Locale, DelegatedAdmin: job.Options.DelegatedAdmin, Status: models.InvitationWaitingForCustomer,
			MicrosoftAcceptURL: job.Options.MicrosoftAcceptURL,
			WorkflowID:         "invitation:" + r.SubjectID, ExpiresAt: now.Add(expireAfter), CreatedAt: now, UpdatedAt: now}
		if r.CustomerID != "" {
			id := r.CustomerID
			inv.CustomerID = &id
		}
		if err := a.Store.CreateInvitation(ctx, &inv); err != nil {
			return r, err
		}
	}
	return r, a.Store.SettleBulkRow(ctx, r)
}

// BulkJobProgress counts a job's rows by status.
func (a *Activities) BulkJobProgress(ctx context.Context, jobID string) (map[string]int, error) {
	job, err := a.Store.BulkJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	p, err := a.Store.BulkCounts(ctx, job)
	return p.Counts, err
}

// SetBulkJobStatus records a job's status.
func (a *Activities) SetBulkJobStatus(ctx context.Context, jobID, status string) error {
	return a.Store.SetBulkJobStatus(ctx, jobID, status)
}

// SkipBulkRows marks a cancelled job's rows that never started.
func (a *Activities) SkipBulkRows(ctx context.Context, jobID string) error {
	return a.Store.SkipPendingBulkRows(ctx, jobID)
}

// WaitingBulkRows lists a job's started rows still waiting for their
// customer, after a row number: those a cancellation withdraws.
func (a *Activities) WaitingBulkRows(ctx context.Context, jobID string, afterRow, limit int) ([]BulkRowStart, error) {
	job, err := a.Store.BulkJob(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := a.Store.WaitingBulkSubjects(ctx, job, afterRow, limit)
	out := make([]BulkRowStart, 0, len(rows))
	for _, r := range rows {
		out = append(out, BulkRowStart{RowNo: r.RowNo, SubjectID: r.SubjectID})
	}
	return out, err
}
