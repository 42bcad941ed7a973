package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/csp-onboarding/onboarding/app"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// BulkReport is what the bulk mode measured: one extension job of Rows
// direct-bill customers.
type BulkReport struct {
	Machine            string  `json:"machine"`
	Database           string  `json:"database"`
	Rows               int     `json:"rows"`
	SendRatePerMinute  int     `json:"send_rate_per_minute"`
	DryRunSeconds      float64 `json:"dry_run_seconds"`
	CreateSeconds      float64 `json:"create_seconds"`
	AllSentSeconds     float64 `json:"all_sent_seconds"`
	PeakRSSMiB         float64 `json:"peak_rss_mib"`
	JobRuns            int     `json:"job_runs"`
	HistoryEventsMax   int64   `json:"history_events_max_per_run"`
	HistoryBytesMax    int64   `json:"history_bytes_max_per_run"`
	HistoryEventsTotal int64   `json:"history_events_total"`
}

// runBulk seeds a direct-bill reseller with o.bulk customers, dry-runs an
// extension job over all of them, runs it and waits until every consent
// request was sent.
func runBulk(ctx context.Context, o options, cfg config.Config, st *store.Store, product *app.App, h *httpClient, database string) error {
	r := &BulkReport{Machine: machine(), Database: database, Rows: o.bulk, SendRatePerMinute: cfg.Bulk.SendRate}
	provider, reseller, err := seed(ctx, h, cfg.AdminToken)
	if err != nil {
		return fmt.Errorf("seed partners: %w", err)
	}
	// The reseller becomes a direct-bill partner with an approved enrollment (R1).
	if err := st.DB().Model(&models.Partner{}).Where("id = ?", reseller.id).Update("direct_bill", true).Error; err != nil {
		return err
	}
	if _, err := st.SubmitEnrollment(ctx, reseller.id, workflows.EnrollmentWorkflowID(reseller.id)); err != nil {
		return err
	}
	if err := st.SetEnrollmentStatus(ctx, reseller.id, models.EnrollmentApproved, ""); err != nil {
		return err
	}
	progress(fmt.Sprintf("Bulk: seeding %d direct-bill customers…", o.bulk))
	rows := make([]map[string]string, o.bulk)
	now := time.Now().UTC()
	for i := range rows {
		c := models.Customer{ID: fmt.Sprintf("bulk-%05d", i), CompanyName: fmt.Sprint("Bulk customer ", i), ContactEmail: fmt.Sprintf("admin@bulk-%d.example", i),
			AcquiredVia: models.AcquiredViaDirectBill, CreatedBy: reseller.id, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateCustomer(ctx, &c, models.PartnerTypeReseller); err != nil {
			return err
		}
		rows[i] = map[string]string{"customer_id": c.ID}
	}
	job := map[string]any{"kind": models.BulkKindExtension, "provider_id": provider.id, "share_bill_to": true, "dry_run": true, "rows": rows}

	begin := time.Now()
	dry, err := h.post(ctx, "/v1/bulk-jobs", reseller.key, job)
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	r.DryRunSeconds = time.Since(begin).Seconds()
	progress(fmt.Sprintf("  dry run: %v ok of %d in %.2f s", dry["ok"], o.bulk, r.DryRunSeconds))

	job["dry_run"] = false
	begin = time.Now()
	created, err := h.post(ctx, "/v1/bulk-jobs", reseller.key, job)
	if err != nil {
		return fmt.Errorf("create the job: %w", err)
	}
	r.CreateSeconds = time.Since(begin).Seconds()
	jobID, _ := created["id"].(string)
	for {
		v, err := h.do(ctx, "GET", "/v1/bulk-jobs/"+jobID, reseller.key, nil)
		if err != nil {
			return err
		}
		counts, _ := v["counts"].(map[string]any)
		if sent, _ := counts["sent"].(float64); int(sent) == o.bulk {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(time.Second)
	}
	r.AllSentSeconds = time.Since(begin).Seconds()
	progress(fmt.Sprintf("  every consent request sent after %.1f s", r.AllSentSeconds))

	// The job's runs: each continue-as-new starts a new history.
	runs, err := product.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, Query: fmt.Sprintf("WorkflowId = %q", workflows.BulkJobWorkflowID(jobID))})
	if err != nil {
		return err
	}
	for _, e := range runs.Executions {
		r.JobRuns++
		r.HistoryEventsTotal += e.HistoryLength
		r.HistoryEventsMax = max(r.HistoryEventsMax, e.HistoryLength)
		r.HistoryBytesMax = max(r.HistoryBytesMax, e.HistorySizeBytes)
	}
	r.PeakRSSMiB = peakRSSMiB()
	return writeBulk(o.out, r)
}

func writeBulk(dir string, r *BulkReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bulk.json"), raw, 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Bulk job benchmark\n\n%s, app database %s, BULK_SEND_RATE=%d/m\n\n", r.Machine, r.Database, r.SendRatePerMinute)
	fmt.Fprintf(&b, "| measure | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| rows (relationship extensions) | %d |\n", r.Rows)
	fmt.Fprintf(&b, "| dry run (every row, every rule) | %.2f s |\n", r.DryRunSeconds)
	fmt.Fprintf(&b, "| create the job (rows + start) | %.2f s |\n", r.CreateSeconds)
	fmt.Fprintf(&b, "| until every consent request was sent | %.1f s |\n", r.AllSentSeconds)
	fmt.Fprintf(&b, "| peak RSS (whole process: Temporal, worker, API) | %.0f MiB |\n", r.PeakRSSMiB)
	fmt.Fprintf(&b, "| job workflow runs (continue-as-new) | %d |\n", r.JobRuns)
	fmt.Fprintf(&b, "| largest run's history | %d events, %d KiB |\n", r.HistoryEventsMax, r.HistoryBytesMax/1024)
	fmt.Fprintf(&b, "| all runs' history | %d events |\n", r.HistoryEventsTotal)
	fmt.Print(b.String())
	return os.WriteFile(filepath.Join(dir, "bulk.md"), []byte(b.String()), 0o644)
}
