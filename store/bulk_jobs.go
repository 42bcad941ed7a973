package store

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/csp-onboarding/onboarding/models"
)

// inChunk bounds the values of one IN list (SQLite limits a statement's variables).
const inChunk = 500

// chunked calls f with slices of at most inChunk values.
func chunked(values []string, f func([]string) error) error {
	for len(values) > 0 {
		n := min(len(values), inChunk)
		if err := f(values[:n]); err != nil {
			return err
		}
		values = values[n:]
	}
	return nil
}

// CustomersOfPartnerByID loads, in a few queries, those of the given
// customers that are on the partner's list (as CustomerOfPartner does one by one).
func (s *Store) CustomersOfPartnerByID(ctx context.Context, partnerID string, ids []string) (map[string]models.Customer, error) {
	out := make(map[string]models.Customer, len(ids))
	err := chunked(ids, func(part []string) error {
		var found []models.Customer
		err := s.db.WithContext(ctx).
			Where("id IN ? AND (created_by = ? OR id IN (SELECT customer_id FROM customer_partners WHERE partner_id = ?))", part, partnerID, partnerID).
			Find(&found).Error
		for _, c := range found {
			out[c.ID] = c
		}
		return err
	})
	return out, err
}

// ActiveRelationshipsOf lists a reseller's active relationships with a provider.
func (s *Store) ActiveRelationshipsOf(ctx context.Context, resellerID, providerID string) ([]models.Relationship, error) {
	var out []models.Relationship
	err := s.db.WithContext(ctx).Where("reseller_id = ? AND provider_id = ? AND status = ?", resellerID, providerID, models.RelationshipActive).
		Find(&out).Error
	return out, err
}

// WaitingExtensionsOf maps each of the customers that has an extension to
// the provider waiting for consent to that extension's ID.
func (s *Store) WaitingExtensionsOf(ctx context.Context, providerID string, customerIDs []string) (map[string]string, error) {
	out := map[string]string{}
	err := chunked(customerIDs, func(part []string) error {
		var found []models.RelationshipExtension
		err := s.db.WithContext(ctx).Select("id", "customer_id").
			Where("provider_id = ? AND status = ? AND customer_id IN ?", providerID, models.ExtensionWaitingForConsent, part).Find(&found).Error
		for _, x := range found {
			out[x.CustomerID] = x.ID
		}
		return err
	})
	return out, err
}

// HeldBulkRows maps the customer IDs and e-mail addresses that a row of
// another job still waiting to start holds (for the provider) to that job.
func (s *Store) HeldBulkRows(ctx context.Context, providerID string, customerIDs, emails []string) (map[string]string, error) {
	out := map[string]string{}
	for _, col := range []struct {
		name   string
		values []string
	}{{"customer_id", customerIDs}, {"email", emails}} {
		err := chunked(col.values, func(part []string) error {
			var found []models.BulkJobRow
			err := s.db.WithContext(ctx).Select("job_id", col.name).
				Where("provider_id = ? AND state = ? AND "+col.name+" IN ?", providerID, models.BulkRowPending, part).Find(&found).Error
			for _, r := range found {
				if col.name == "customer_id" {
					out[r.CustomerID] = r.JobID
				} else {
					out[r.Email] = r.JobID
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateBulkJob inserts a job, its rows and its pending workflow start in
// one transaction, binding the Idempotency-Key when there is one (as
// CreateOnboarding does for one onboarding).
func (s *Store) CreateBulkJob(ctx context.Context, key *models.IdempotencyKey, job *models.BulkJob, rows []models.BulkJobRow, start models.WorkflowStart) (existingID string, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var claimed bool
		if existingID, claimed, err = claimKey(tx, key); err != nil || !claimed {
			return err
		}
		if err := tx.Create(job).Error; err != nil {
			return err
		}
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return err
		}
		start.CreatedAt = now()
		return tx.Create(&start).Error
	})
	return existingID, err
}

// BulkJob loads a job.
func (s *Store) BulkJob(ctx context.Context, id string) (models.BulkJob, error) {
	var j models.BulkJob
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&j).Error
	return j, notFound(err)
}

// SetBulkJobStatus records a job's status; a final one sets finished_at.
func (s *Store) SetBulkJobStatus(ctx context.Context, id, status string) error {
	updates := statusUpdates(status)
	if status == models.BulkJobCompleted || status == models.BulkJobCancelled {
		updates["finished_at"] = now()
	}
	res := s.db.WithContext(ctx).Model(&models.BulkJob{}).Where("id = ? AND finished_at IS NULL", id).Updates(updates)
	return res.Error
}

// BulkRowsFrom lists a job's rows from a row number on, in order.
func (s *Store) BulkRowsFrom(ctx context.Context, jobID string, fromRow, limit int) ([]models.BulkJobRow, error) {
	var out []models.BulkJobRow
	err := s.db.WithContext(ctx).Where("job_id = ? AND row_no >= ?", jobID, fromRow).Order("row_no").Limit(limit).Find(&out).Error
	return out, err
}

// CreateExtensionOnce inserts an extension under its ID; inserting it again
// changes nothing. When another extension of the customer to the provider
// already waits for consent, nothing is written and that one's ID is returned.
func (s *Store) CreateExtensionOnce(ctx context.Context, x *models.RelationshipExtension) (existingID string, err error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(x)
	if res.Error != nil || res.RowsAffected == 1 {
		return "", res.Error
	}
	var found models.RelationshipExtension
	err = s.db.WithContext(ctx).Select("id").Where("id = ? OR (customer_id = ? AND provider_id = ? AND status = ?)",
		x.ID, x.CustomerID, x.ProviderID, models.ExtensionWaitingForConsent).Order("id").Take(&found).Error
	if err != nil || found.ID == x.ID {
		return "", notFound(err)
	}
	return found.ID, nil
}

// SettleBulkRow records what became of a pending row: started (with its
// onboarding) or refused (with the rule's code). A row settled already
// keeps its first outcome, so a retried activity changes nothing.
func (s *Store) SettleBulkRow(ctx context.Context, r models.BulkJobRow) error {
	at := now()
	return s.db.WithContext(ctx).Model(&models.BulkJobRow{}).
		Where("job_id = ? AND row_no = ? AND state = ?", r.JobID, r.RowNo, models.BulkRowPending).
		Updates(map[string]any{"state": r.State, "code": r.Code, "reason": r.Reason, "subject_id": r.SubjectID, "adopted": r.Adopted, "started_at": &at,
			"company_name": r.CompanyName, "email": r.Email}).Error
}

// SkipPendingBulkRows marks a cancelled job's rows that never started.
func (s *Store) SkipPendingBulkRows(ctx context.Context, jobID string) error {
	return s.db.WithContext(ctx).Model(&models.BulkJobRow{}).Where("job_id = ? AND state = ?", jobID, models.BulkRowPending).
		Updates(map[string]any{"state": models.BulkRowSkipped, "reason": "the job was cancelled before this row started"}).Error
}

// BulkRowView is a row with its outcome: the state the job gave it, or,
// once started, what its onboarding became.
type BulkRowView struct {
	models.BulkJobRow
	Status string // pending, started, sent, consented, completed, declined, expired, cancelled, failed, refused, skipped
}

// Row outcomes as shown to partners.
const (
	BulkStatusSent      = "sent"
	BulkStatusConsented = "consented"
)

// bulkOutcome is one row joined with its onboarding.
type bulkOutcome struct {
	models.BulkJobRow
	OnboardingStatus *string
	Consented        bool
	Sent             bool
	FailureDetails   *string
}

// bulkOutcomes reads rows of a job with their onboardings' progress.
func (s *Store) bulkOutcomes(ctx context.Context, job models.BulkJob, where string, args ...any) *gorm.DB {
	table, sentEvent, consented := "relationship_extensions", "consent_requested", "x.consent_id IS NOT NULL"
	if job.Kind == models.BulkKindInvitation {
		table, sentEvent, consented = "invitations", "invitation_sent", "x.status = 'accepted'"
	}
	return s.db.WithContext(ctx).Table("bulk_job_rows AS r").
		Select("r.*, x.status AS onboarding_status, COALESCE(("+consented+"), false) AS consented, "+
			"EXISTS (SELECT 1 FROM onboarding_events e WHERE e.subject_id = r.subject_id AND e.type = ?) AS sent, "+
			"(SELECT e.details FROM onboarding_events e WHERE e.subject_id = r.subject_id AND e.type IN ('failed', 'start_failed') ORDER BY e.seq DESC LIMIT 1) AS failure_details",
			sentEvent).
		Joins("LEFT JOIN "+table+" x ON x.id = r.subject_id").
		Where("r.job_id = ?", job.ID).Where(where, args...)
}

func (o bulkOutcome) view() BulkRowView {
	v := BulkRowView{BulkJobRow: o.BulkJobRow, Status: o.State}
	if o.State != models.BulkRowStarted || o.OnboardingStatus == nil {
		return v
	}
	switch st := *o.OnboardingStatus; st {
	case models.ExtensionWaitingForConsent, models.InvitationWaitingForCustomer:
		switch {
		case o.Consented:
			v.Status = BulkStatusConsented
		case o.Sent:
			v.Status = BulkStatusSent
		}
	case models.InvitationAccepted:
		v.Status = BulkStatusConsented
	case models.ExtensionConsentDeclined, models.InvitationDeclined:
		v.Status = "declined"
	default: // completed, expired, cancelled, failed
		v.Status = st
	}
	if v.Status == models.ExtensionFailed && o.FailureDetails != nil {
		var d map[string]string
		if json.Unmarshal([]byte(*o.FailureDetails), &d) == nil {
			v.Code, v.Reason = d["code"], d["reason"]
		}
	}
	return v
}

// BulkRowStatuses are the row statuses a list may be filtered by.
var BulkRowStatuses = []string{models.BulkRowPending, models.BulkRowStarted, BulkStatusSent, BulkStatusConsented, models.ExtensionCompleted,
	"declined", models.ExtensionExpired, models.ExtensionCancelled, models.ExtensionFailed, models.BulkRowRefused, models.BulkRowSkipped}

// BulkRows lists a job's rows after a row number in file order,
// optionally only those with one status (a failed filter includes refused rows).
func (s *Store) BulkRows(ctx context.Context, job models.BulkJob, status string, afterRow, limit int) ([]BulkRowView, error) {
	out := []BulkRowView{}
	after := afterRow
	for len(out) < limit {
		var batch []bulkOutcome
		if err := s.bulkOutcomes(ctx, job, "r.row_no > ?", after).Order("r.row_no").Limit(max(limit, 500)).Scan(&batch).Error; err != nil {
			return nil, err
		}
		for _, o := range batch {
			v := o.view()
			if status == "" || v.Status == status || (status == models.ExtensionFailed && v.Status == models.BulkRowRefused) {
				out = append(out, v)
				if len(out) == limit {
					break
				}
			}
		}
		if len(batch) < max(limit, 500) {
			break
		}
		after = batch[len(batch)-1].RowNo
	}
	return out, nil
}

// BulkProgress is a job's rows counted by status.
type BulkProgress struct {
	Counts      map[string]int
	Total       int
	FirstSentAt *time.Time // when the job began starting rows
	LastSentAt  *time.Time
}

// BulkCounts counts a job's rows by status.
func (s *Store) BulkCounts(ctx context.Context, job models.BulkJob) (BulkProgress, error) {
	p := BulkProgress{Counts: map[string]int{}, Total: job.Total}
	after := 0
	for {
		var batch []bulkOutcome
		q := s.bulkOutcomes(ctx, job, "r.row_no > ?", after).Order("r.row_no").Limit(2000)
		if err := q.Scan(&batch).Error; err != nil {
			return p, err
		}
		for _, o := range batch {
			p.Counts[o.view().Status]++
			if at := o.StartedAt; at != nil && o.State == models.BulkRowStarted {
				if p.FirstSentAt == nil || at.Before(*p.FirstSentAt) {
					p.FirstSentAt = at
				}
				if p.LastSentAt == nil || at.After(*p.LastSentAt) {
					p.LastSentAt = at
				}
			}
		}
		if len(batch) < 2000 {
			return p, nil
		}
		after = batch[len(batch)-1].RowNo
	}
}

// WaitingBulkSubjects lists, after a row number, the onboardings of a job's
// started rows still waiting for their customer (to withdraw them).
func (s *Store) WaitingBulkSubjects(ctx context.Context, job models.BulkJob, afterRow, limit int) ([]models.BulkJobRow, error) {
	waiting := models.ExtensionWaitingForConsent
	if job.Kind == models.BulkKindInvitation {
		waiting = models.InvitationWaitingForCustomer
	}
	var batch []bulkOutcome
	err := s.bulkOutcomes(ctx, job, "r.row_no > ? AND r.state = ? AND r.adopted = ? AND x.status = ?", afterRow, models.BulkRowStarted, false, waiting).
		Order("r.row_no").Limit(limit).Scan(&batch).Error
	out := make([]models.BulkJobRow, 0, len(batch))
	for _, o := range batch {
		out = append(out, o.BulkJobRow)
	}
	return out, err
}
