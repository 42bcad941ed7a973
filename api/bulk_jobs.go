package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/i18n"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// bulkJobStore is what the bulk job handlers read and write; the dry run
// loads what the rules read for all rows at once (rules.BatchStore).
type bulkJobStore interface {
	rules.BatchStore
	BulkCounts(ctx context.Context, job models.BulkJob) (store.BulkProgress, error)
	BulkJob(ctx context.Context, id string) (models.BulkJob, error)
	BulkRows(ctx context.Context, job models.BulkJob, status string, afterRow, limit int) ([]store.BulkRowView, error)
	CreateBulkJob(ctx context.Context, key *models.IdempotencyKey, job *models.BulkJob, rows []models.BulkJobRow, start models.WorkflowStart) (existingID string, err error)
	HeldBulkRows(ctx context.Context, providerID string, customerIDs, emails []string) (map[string]string, error)
	IdempotentResource(ctx context.Context, k models.IdempotencyKey) (resourceID string, found bool, err error)
	Partner(ctx context.Context, id string) (models.Partner, error)
	PartnershipActive(ctx context.Context, providerID, resellerID string) (bool, error)
	SetBulkJobStatus(ctx context.Context, id, status string) error
	SkipPendingBulkRows(ctx context.Context, jobID string) error
	WaitingExtensionsOf(ctx context.Context, providerID string, customerIDs []string) (map[string]string, error)
}

// CreateBulkJob checks every row of a job and, unless it is a dry run,
// records the job with its rows and starts its workflow.
func (s *Server) CreateBulkJob(ctx context.Context, request oapi.CreateBulkJobRequestObject) (oapi.CreateBulkJobResponseObject, error) {
	me := currentPartner(ctx)
	if me.Type != models.PartnerTypeReseller {
		return nil, problem(http.StatusForbidden, CodeForbidden, "only a reseller runs bulk jobs")
	}
	req, err := bulkRequest(request)
	if err != nil {
		return nil, err
	}
	if err := s.validateBulkJob(ctx, me, req); err != nil {
		return nil, err
	}
	ms, err := s.bulkAtMicrosoft(ctx, me, req.ProviderId)
	if err != nil {
		return nil, err
	}
	verdicts, err := s.checkBulkRows(ctx, me, req)
	if err != nil {
		return nil, err
	}
	dry := tally(verdicts)
	if req.DryRun {
		return oapi.CreateBulkJob200JSONResponse(dry), nil
	}
	if dry.Ok == 0 {
		return nil, problem(http.StatusUnprocessableEntity, CodeValidationFailed,
			"no row of this job can be started; run it with dry_run to see each row's verdict")
	}
	k, err := requestKey(request.Params.IdempotencyKey, me.ID, "create-bulk-job", req)
	if err != nil {
		return nil, err
	}
	job, err := s.createBulkJob(ctx, k, me, req, verdicts, ms)
	if err != nil {
		return nil, err
	}
	view, err := s.bulkJobView(ctx, job)
	if err != nil {
		return nil, err
	}
	return oapi.CreateBulkJob202JSONResponse{Body: view, Headers: oapi.CreateBulkJob202ResponseHeaders{Location: "/v1/bulk-jobs/" + job.ID}}, nil
}

// tally counts the rows' verdicts.
func tally(verdicts []oapi.BulkVerdict) oapi.BulkDryRun {
	dry := oapi.BulkDryRun{Total: len(verdicts), Verdicts: verdicts}
	for _, v := range verdicts {
		if v.Ok {
			dry.Ok++
		} else {
			dry.Refused++
		}
	}
	return dry
}

// bulkRequest is the job as JSON, or as a CSV upload with its options in the query.
func bulkRequest(request oapi.CreateBulkJobRequestObject) (oapi.NewBulkJob, error) {
	if request.JSONBody != nil {
		return *request.JSONBody, nil
	}
	p := request.Params
	req := oapi.NewBulkJob{Kind: p.Kind, ProviderId: p.ProviderId, DryRun: p.DryRun, ShareBillTo: p.ShareBillTo, Locale: p.Locale, Message: p.Message}
	req.Consent.Method = oapi.NewBulkJobConsentMethod(p.ConsentMethod)
	if request.Body == nil {
		return req, validationProblem([]FieldError{{Field: "body", Message: "is required: rows as JSON or as CSV"}})
	}
	rows, err := parseBulkCSV(request.Body)
	req.Rows = rows
	return req, err
}

// bulkCSVColumns are the columns a CSV upload may have (its header row names them).
var bulkCSVColumns = []string{"customer_id", "company_name", "email"}

// parseBulkCSV reads rows under a header row naming some of bulkCSVColumns.
func parseBulkCSV(body io.Reader) ([]oapi.NewBulkJobRow, error) {
	r := csv.NewReader(body)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, validationProblem([]FieldError{{Field: "body", Message: "must be CSV with a header row (" + strings.Join(bulkCSVColumns, ", ") + ")"}})
	}
	index := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if !slices.Contains(bulkCSVColumns, name) {
			return nil, validationProblem([]FieldError{{Field: "body", Message: fmt.Sprintf("column %q is not one of %s", name, strings.Join(bulkCSVColumns, ", "))}})
		}
		index[name] = i
	}
	var rows []oapi.NewBulkJobRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, validationProblem([]FieldError{{Field: "body", Message: "is not valid CSV: " + err.Error()}})
		}
		if len(rows) == models.MaxBulkRows {
			return nil, validationProblem([]FieldError{{Field: "rows", Message: fmt.Sprintf("a job takes at most %d rows", models.MaxBulkRows)}})
		}
		get := func(col string) string {
			if i, ok := index[col]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		for _, v := range rec {
			if badText(v) {
				return nil, validationProblem([]FieldError{{Field: fmt.Sprintf("rows[%d]", len(rows)), Message: "must not contain control characters"}})
			}
		}
		rows = append(rows, oapi.NewBulkJobRow{CustomerId: get("customer_id"), CompanyName: get("company_name"), Email: get("email")})
	}
}

// validateBulkJob checks the options every row shares; a job whose
// options are wrong is refused as a whole.
func (s *Server) validateBulkJob(ctx context.Context, me models.Partner, req oapi.NewBulkJob) error {
	var f fieldErrors
	switch req.Kind {
	case oapi.BulkJobKind(models.BulkKindExtension), oapi.BulkJobKind(models.BulkKindInvitation):
	default:
		f.add("kind", "must be relationship_extension or invitation")
	}
	if strings.TrimSpace(req.ProviderId) == "" {
		f.add("provider_id", "is required")
	}
	if len(req.Rows) == 0 {
		f.add("rows", "must list at least one row")
	}
	if len(req.Rows) > models.MaxBulkRows {
		f.add("rows", fmt.Sprintf("a job takes at most %d rows", models.MaxBulkRows))
	}
	validateMessage(&f, req.Message)
	validateDelegatedAdmin(&f, delegatedAdminRequest(req.DelegatedAdmin))
	if req.Kind == oapi.BulkJobKind(models.BulkKindExtension) && (req.Message != "" || delegatedAdminRequest(req.DelegatedAdmin) != nil) {
		f.add("message", "an extension job sends the consent request as it is: message and delegated_admin belong to invitation jobs")
	}
	if err := f.err(); err != nil {
		return err
	}
	if req.Kind != oapi.BulkJobKind(models.BulkKindInvitation) {
		return nil
	}
	if err := s.checkMicrosoftConnected(ctx, me, delegatedAdminRequest(req.DelegatedAdmin)); err != nil {
		return err
	}
	// An invitation's provider and partnership are the same for every row:
	// checked once, as the single route does.
	provider, err := s.store.Partner(ctx, req.ProviderId)
	if errors.Is(err, store.ErrNotFound) || (err == nil && provider.Type != models.PartnerTypeIndirectProvider) {
		return validationProblem([]FieldError{{Field: "provider_id", Message: "is not an indirect provider"}})
	}
	if err != nil {
		return err
	}
	active, err := s.store.PartnershipActive(ctx, provider.ID, me.ID)
	if err != nil {
		return err
	}
	if !active {
		return problem(http.StatusUnprocessableEntity, CodePartnershipNotActive,
			"you have no active partnership with the provider "+provider.ID+"; the provider invites you (POST /v1/partnerships) and you accept it first")
	}
	return nil
}

// checkBulkRows gives every row its verdict, from a handful of queries:
// the single routes' checks (rules.CheckExtension, validateInvitation,
// rules.CheckInvitationCustomer) run over a batch loaded once.
func (s *Server) checkBulkRows(ctx context.Context, me models.Partner, req oapi.NewBulkJob) ([]oapi.BulkVerdict, error) {
	var ids, emails []string
	for _, r := range req.Rows {
		if r.CustomerId != "" {
			ids = append(ids, r.CustomerId)
		} else if r.Email != "" {
			emails = append(emails, strings.ToLower(r.Email))
		}
	}
	batch, err := rules.LoadBatch(ctx, s.store, me, req.ProviderId, ids)
	if err != nil {
		return nil, err
	}
	waiting, err := s.store.WaitingExtensionsOf(ctx, req.ProviderId, ids)
	if err != nil {
		return nil, err
	}
	held, err := s.store.HeldBulkRows(ctx, req.ProviderId, ids, emails)
	if err != nil {
		return nil, err
	}
	extension := req.Kind == oapi.BulkJobKind(models.BulkKindExtension)
	seen := make(map[string]int, len(req.Rows))
	out := make([]oapi.BulkVerdict, 0, len(req.Rows))
	for i, r := range req.Rows {
		v := oapi.BulkVerdict{Row: i + 1, CustomerId: r.CustomerId, Email: r.Email, Ok: true}
		refuse := func(code oapi.ProblemCode, detail string) { v.Ok, v.Code, v.Detail = false, code, detail }
		key := r.CustomerId
		if key == "" {
			key = "email:" + strings.ToLower(r.Email)
		}
		var rowErr error
		if !extension {
			var body oapi.CreateInvitationJSONRequestBody
			body.ProviderId, body.Customer.CustomerId, body.Customer.CompanyName, body.Customer.Email = req.ProviderId, r.CustomerId, r.CompanyName, r.Email
			rowErr = validateInvitation(&body)
		}
		switch {
		case extension && (r.CustomerId == "" || r.CompanyName != "" || r.Email != ""):
			refuse(CodeValidationFailed, "an extension row names customer_id only: the customer is one of yours")
		case rowErr != nil:
			refuse(CodeValidationFailed, fieldSummary(rowErr))
		case seen[key] > 0:
			refuse(CodeDuplicateRow, fmt.Sprintf("the same customer as row %d", seen[key]))
		case held[r.CustomerId] != "" || (r.CustomerId == "" && held[strings.ToLower(r.Email)] != ""):
			refuse(CodeHeldByAnotherJob, "a row of job "+held[r.CustomerId]+held[strings.ToLower(r.Email)]+" still waits to start this customer")
		default:
			var err error
			if extension {
				_, err = rules.CheckExtension(ctx, batch, rules.Extension{ResellerID: me.ID, ProviderID: req.ProviderId, CustomerID: r.CustomerId,
					ShareBillTo: req.ShareBillTo, DelegatedAdminRequired: req.DelegatedAdminRequired})
			} else if r.CustomerId != "" {
				err = rules.CheckInvitationCustomer(ctx, batch, me.ID, req.ProviderId, r.CustomerId)
			} else {
				// A file has no room for reasons: such a row goes by POST /v1/invitations with contact_email_reason.
				provider, _ := batch.Partner(ctx, req.ProviderId)
				err = rules.CheckContact(rules.Contact{Email: r.Email}, me, provider)
			}
			if rv, ok := rules.AsViolation(err); ok {
				refuse(rv.Code, rv.Detail)
			} else if err != nil {
				return nil, err
			} else if extension && waiting[r.CustomerId] != "" {
				refuse(CodeConflict, "an extension for this customer and provider already waits for consent ("+waiting[r.CustomerId]+")")
			}
		}
		if seen[key] == 0 {
			seen[key] = i + 1
		}
		out = append(out, v)
	}
	return out, nil
}

// fieldSummary puts a validation problem's field errors on one line.
func fieldSummary(err error) string {
	var p *Problem
	if !errors.As(err, &p) || len(p.Errors) == 0 {
		return err.Error()
	}
	parts := make([]string, 0, len(p.Errors))
	for _, f := range p.Errors {
		parts = append(parts, f.Field+" "+f.Message)
	}
	return strings.Join(parts, "; ")
}

// createBulkJob records a job, its rows (refused ones with their verdict)
// and its pending start in one transaction, then starts its workflow.
func (s *Server) createBulkJob(ctx context.Context, k *models.IdempotencyKey, me models.Partner, req oapi.NewBulkJob, verdicts []oapi.BulkVerdict, ms atMicrosoft) (models.BulkJob, error) {
	if id, found, err := s.store.IdempotentResource(ctx, derefKey(k)); k != nil && (err != nil || found) {
		if err != nil {
			return models.BulkJob{}, err
		}
		return s.startedBulkJob(ctx, id)
	}
	job, rows := newBulkJob(newID(), time.Now().UTC(), me, req, verdicts)
	job.Options.ResellerTenantID, job.Options.ProviderTenantID, job.Options.MicrosoftAcceptURL = ms.ResellerTenantID, ms.ProviderTenantID, ms.AcceptURL
	if k != nil {
		k.ResourceID = job.ID
	}
	existing, err := s.store.CreateBulkJob(ctx, k, &job, rows, pendingStart(workflows.KindBulkJob, job.WorkflowID, job.ID))
	if err != nil {
		return job, err
	}
	if existing != "" { // a concurrent duplicate under the same key won
		return s.startedBulkJob(ctx, existing)
	}
	plan, err := s.bulkJobPlan(ctx, job)
	if err != nil {
		return job, err
	}
	return job, s.launch(ctx, plan)
}

// bulkAtMicrosoft is what a job's rows need at Microsoft (atMicrosoft);
// the dry run answers its 409 too.
func (s *Server) bulkAtMicrosoft(ctx context.Context, me models.Partner, providerID string) (atMicrosoft, error) {
	if s.cfg.Microsoft.Mode == config.MicrosoftOff {
		return atMicrosoft{}, nil
	}
	provider, err := s.store.Partner(ctx, providerID)
	if errors.Is(err, store.ErrNotFound) {
		return atMicrosoft{}, validationProblem([]FieldError{{Field: "provider_id", Message: "is not an indirect provider"}})
	}
	if err != nil {
		return atMicrosoft{}, err
	}
	return s.atMicrosoft(ctx, "each row's relationship is made at Microsoft", me, provider)
}

// startedBulkJob is a job created before under the same key, started if its start was lost.
func (s *Server) startedBulkJob(ctx context.Context, id string) (models.BulkJob, error) {
	job, err := s.store.BulkJob(ctx, id)
	if err != nil {
		return job, err
	}
	return job, s.ensureStarted(ctx, pendingStart(workflows.KindBulkJob, job.WorkflowID, job.ID))
}

// newBulkJob builds a job and its rows; a row the check refused is recorded
// refused with its code and reason, never run.
func newBulkJob(id string, now time.Time, me models.Partner, req oapi.NewBulkJob, verdicts []oapi.BulkVerdict) (models.BulkJob, []models.BulkJobRow) {
	method := string(req.Consent.Method)
	if method == "" {
		method = models.ConsentCustomerConfirmation
	}
	job := models.BulkJob{ID: id, ResellerID: me.ID, ProviderID: req.ProviderId, Kind: string(req.Kind), Status: models.BulkJobRunning,
		Options: models.BulkOptions{Locale: i18n.Choose(string(req.Locale), me.Locale), Message: req.Message, ConsentMethod: method,
			DelegatedAdmin: delegatedAdminRequest(req.DelegatedAdmin)},
		Total: len(req.Rows), WorkflowID: workflows.BulkJobWorkflowID(id), CreatedAt: now, UpdatedAt: now}
	rows := make([]models.BulkJobRow, len(req.Rows))
	for i, r := range req.Rows {
		rows[i] = models.BulkJobRow{JobID: id, RowNo: i + 1, ProviderID: req.ProviderId, CustomerID: r.CustomerId, CompanyName: strings.TrimSpace(r.CompanyName),
			Email: r.Email, State: models.BulkRowPending}
		if r.CustomerId == "" {
			rows[i].Email = strings.ToLower(r.Email)
		}
		if v := verdicts[i]; !v.Ok {
			rows[i].State, rows[i].Code, rows[i].Reason = models.BulkRowRefused, string(v.Code), v.Detail
		}
	}
	return job, rows
}

func derefKey(k *models.IdempotencyKey) models.IdempotencyKey {
	if k == nil {
		return models.IdempotencyKey{}
	}
	return *k
}

// bulkJobPlan plans a job's start from its row (also for the sweeper).
func (s *Server) bulkJobPlan(ctx context.Context, job models.BulkJob) (startPlan, error) {
	reseller, provider, err := s.partners(ctx, job.ResellerID, job.ProviderID)
	if err != nil {
		return startPlan{}, err
	}
	b := s.cfg.Bulk
	in := workflows.BulkJobInput{JobID: job.ID, Kind: job.Kind, Reseller: party(reseller), Provider: party(provider),
		Locale: job.Options.Locale, Message: job.Options.Message, ConsentMethod: job.Options.ConsentMethod, DelegatedAdmin: job.Options.DelegatedAdmin,
		Total: job.Total, PerMinute: b.SendRate, MaxInFlight: b.InFlight(), RowsPerRun: b.RowsPerRun, PollEvery: b.PollEvery,
		Reminders: s.cfg.Timing.ConsentReminders, ExpireAfter: s.cfg.Timing.ConsentExpiry}
	if o := job.Options; o.ResellerTenantID != "" && o.ProviderTenantID != "" {
		in.Microsoft = &workflows.BulkAtMicrosoft{AcceptURL: o.MicrosoftAcceptURL, ResellerTenantID: o.ResellerTenantID, ProviderTenantID: o.ProviderTenantID,
			FirstPoll: s.cfg.Timing.PartnerCenterFirstPoll}
	}
	if job.Kind == models.BulkKindInvitation {
		in.Reminders, in.ExpireAfter = s.cfg.Timing.InvitationReminders, s.cfg.Timing.InvitationExpiry
	}
	return startPlan{kind: workflows.KindBulkJob, subjectID: job.ID,
		opts: startOptions(s.cfg.TemporalTaskQueue, job.WorkflowID, fmt.Sprintf("Bulk %s of %d customers to %s", strings.ReplaceAll(job.Kind, "_", " "), job.Total, provider.Name),
			workflows.SearchKind.ValueSet(workflows.KindBulkJob), workflows.SearchReseller.ValueSet(reseller.ID),
			workflows.SearchProvider.ValueSet(provider.ID), workflows.SearchBulkJob.ValueSet(job.ID)),
		workflow: workflows.BulkJobWorkflow, input: in,
		abandon: func(ctx context.Context, reason string) error {
			if err := s.store.SkipPendingBulkRows(ctx, job.ID); err != nil {
				return err
			}
			return s.store.SetBulkJobStatus(ctx, job.ID, models.BulkJobCancelled)
		},
	}, nil
}

// visibleBulkJob loads a job of the calling reseller; another's is 404.
func (s *Server) visibleBulkJob(ctx context.Context, id string) (models.BulkJob, error) {
	return partyTo(ctx, id, "bulk job", s.store.BulkJob, func(j models.BulkJob) (string, string) { return j.ResellerID, j.ResellerID })
}

// bulkJobView is a job with its totals, its send rate and when it should
// have sent every request.
func (s *Server) bulkJobView(ctx context.Context, job models.BulkJob) (oapi.BulkJob, error) {
	p, err := s.store.BulkCounts(ctx, job)
	if err != nil {
		return oapi.BulkJob{}, err
	}
	v := oapi.BulkJob{Id: job.ID, Kind: oapi.BulkJobKind(job.Kind), Status: oapi.BulkJobStatus(job.Status), ProviderId: job.ProviderID,
		WorkflowId: job.WorkflowID, Total: job.Total, Counts: p.Counts, CreatedAt: job.CreatedAt, FinishedAt: valueOf(job.FinishedAt),
		Progress: workflows.BulkProgressLine(job.Total, p.Counts)}
	started := job.Total - p.Counts[models.BulkRowPending] - p.Counts[models.BulkRowRefused] - p.Counts[models.BulkRowSkipped]
	if p.FirstSentAt != nil && started > 0 {
		elapsed := time.Since(*p.FirstSentAt)
		if job.FinishedAt != nil || p.Counts[models.BulkRowPending] == 0 {
			elapsed = p.LastSentAt.Sub(*p.FirstSentAt)
		}
		if minutes := elapsed.Minutes(); minutes > 0 {
			v.SentPerMinute = float32(float64(started) / minutes)
			if left := p.Counts[models.BulkRowPending]; left > 0 && job.Status == models.BulkJobRunning {
				v.Eta = time.Now().UTC().Add(time.Duration(float64(left) / float64(v.SentPerMinute) * float64(time.Minute))).Truncate(time.Second)
			}
		}
	}
	return v, nil
}

func (s *Server) GetBulkJob(ctx context.Context, request oapi.GetBulkJobRequestObject) (oapi.GetBulkJobResponseObject, error) {
	job, err := s.visibleBulkJob(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	v, err := s.bulkJobView(ctx, job)
	if err != nil {
		return nil, err
	}
	return oapi.GetBulkJob200JSONResponse{BulkJobBodyJSONResponse: oapi.BulkJobBodyJSONResponse(v)}, nil
}

func bulkRowView(r store.BulkRowView) oapi.BulkJobRow {
	return oapi.BulkJobRow{Row: r.RowNo, Status: r.Status, CustomerId: r.CustomerID, CompanyName: r.CompanyName, Email: r.Email,
		OnboardingId: r.SubjectID, Code: r.Code, Reason: r.Reason}
}

func (s *Server) ListBulkJobRows(ctx context.Context, request oapi.ListBulkJobRowsRequestObject) (oapi.ListBulkJobRowsResponseObject, error) {
	job, err := s.visibleBulkJob(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	p := request.Params
	if p.Status != "" && !slices.Contains(store.BulkRowStatuses, string(p.Status)) {
		return nil, validationProblem([]FieldError{{Field: "status", Message: "must be one of " + strings.Join(store.BulkRowStatuses, ", ")}})
	}
	page, err := pageOf(int(p.Limit), string(p.Cursor))
	if err != nil {
		return nil, err
	}
	after := 0
	if page.Cursor != "" {
		if after, err = strconv.Atoi(page.Cursor); err != nil || after < 0 {
			return nil, validationProblem([]FieldError{{Field: "cursor", Message: "is not a cursor this API returned"}})
		}
	}
	rows, err := s.store.BulkRows(ctx, job, string(p.Status), after, page.Limit+1)
	if err != nil {
		return nil, err
	}
	out := oapi.ListBulkJobRows200JSONResponse{Items: make([]oapi.BulkJobRow, 0, len(rows))}
	if len(rows) > page.Limit {
		rows = rows[:page.Limit]
		out.NextCursor = strconv.Itoa(rows[len(rows)-1].RowNo)
	}
	for _, r := range rows {
		out.Items = append(out.Items, bulkRowView(r))
	}
	return out, nil
}

func (s *Server) GetBulkJobResults(ctx context.Context, request oapi.GetBulkJobResultsRequestObject) (oapi.GetBulkJobResultsResponseObject, error) {
	job, err := s.visibleBulkJob(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.BulkRows(ctx, job, "", 0, job.Total)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"row", "customer_id", "company_name", "email", "status", "onboarding_id", "code", "reason"})
	for _, r := range rows {
		_ = w.Write([]string{strconv.Itoa(r.RowNo), csvSafe(r.CustomerID), csvSafe(r.CompanyName), csvSafe(r.Email), r.Status, r.SubjectID, r.Code, csvSafe(r.Reason)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return oapi.GetBulkJobResults200TextcsvResponse{Body: &buf, ContentLength: int64(buf.Len())}, nil
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// controlBulkJob sends a pause, resume or cancel update and answers the job.
func (s *Server) controlBulkJob(ctx context.Context, id, update string, args ...any) (oapi.BulkJob, error) {
	job, err := s.visibleBulkJob(ctx, id)
	if err != nil {
		return oapi.BulkJob{}, err
	}
	if job.FinishedAt != nil {
		return oapi.BulkJob{}, problem(http.StatusConflict, CodeConflict, "this job has ended ("+job.Status+")")
	}
	var status string
	if err := s.update(ctx, job.WorkflowID, update, &status, args...); err != nil {
		return oapi.BulkJob{}, err
	}
	job.Status = status
	return s.bulkJobView(ctx, job)
}

func (s *Server) PauseBulkJob(ctx context.Context, request oapi.PauseBulkJobRequestObject) (oapi.PauseBulkJobResponseObject, error) {
	v, err := s.controlBulkJob(ctx, request.Id, workflows.UpdatePause)
	if err != nil {
		return nil, err
	}
	return oapi.PauseBulkJob200JSONResponse{BulkJobBodyJSONResponse: oapi.BulkJobBodyJSONResponse(v)}, nil
}

func (s *Server) ResumeBulkJob(ctx context.Context, request oapi.ResumeBulkJobRequestObject) (oapi.ResumeBulkJobResponseObject, error) {
	v, err := s.controlBulkJob(ctx, request.Id, workflows.UpdateResume)
	if err != nil {
		return nil, err
	}
	return oapi.ResumeBulkJob200JSONResponse{BulkJobBodyJSONResponse: oapi.BulkJobBodyJSONResponse(v)}, nil
}

func (s *Server) CancelBulkJob(ctx context.Context, request oapi.CancelBulkJobRequestObject) (oapi.CancelBulkJobResponseObject, error) {
	var c workflows.BulkCancel
	if request.Body != nil {
		c.CancelWaiting = request.Body.CancelWaiting
	}
	v, err := s.controlBulkJob(ctx, request.Id, workflows.UpdateCancel, c)
	if err != nil {
		return nil, err
	}
	return oapi.CancelBulkJob200JSONResponse{BulkJobBodyJSONResponse: oapi.BulkJobBodyJSONResponse(v)}, nil
}
