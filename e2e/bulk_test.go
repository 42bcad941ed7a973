package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/csp-onboarding/onboarding/config"
)

// bulkCustomers adds n direct-bill customers of the reseller and returns their IDs.
func (p *product) bulkCustomers(reseller partner, prefix string, n int) []string {
	p.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		domain := fmt.Sprintf("%s%d.example", prefix, i)
		c := p.must(201, p.call("POST", "/v1/customers", reseller.key, map[string]any{
			"company_name": fmt.Sprintf("%s %d", prefix, i), "domain": domain, "contact_email": "admin@" + domain, "bill_to": billTo(prefix)}))
		ids[i] = c.str("id")
	}
	return ids
}

func bulkCounts(r response) map[string]int {
	out := map[string]int{}
	counts, _ := r.json["counts"].(map[string]any)
	for k, v := range counts {
		out[k] = int(v.(float64))
	}
	return out
}

// TestBulkExtensionJobEndToEnd: dry run, then the job: every customer gets
// its own consent request, one consents through its link and is related,
// the job's progress, failed rows and results CSV tell it all, its
// workflows are found by BulkJobId, and a cancel withdraws the waiting rows.
func TestBulkExtensionJobEndToEnd(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) {
		c.Bulk = config.Bulk{SendRate: 600, RowsPerRun: 5, PollEvery: time.Second}
	})
	provider, reseller, first := p.directBillReseller("Bulkwood")
	ids := append([]string{first}, p.bulkCustomers(reseller, "bulkco", 7)...)
	rows := []map[string]any{}
	for _, id := range ids {
		rows = append(rows, map[string]any{"customer_id": id})
	}
	job := map[string]any{"kind": "relationship_extension", "provider_id": provider.id, "share_bill_to": true, "dry_run": true,
		"rows": append(append([]map[string]any{}, rows...), map[string]any{"customer_id": "unknown-customer"}, map[string]any{"customer_id": ids[0]})}

	dry := p.must(200, p.call("POST", "/v1/bulk-jobs", reseller.key, job))
	require.EqualValues(t, 8, dry.json["ok"])
	require.EqualValues(t, 2, dry.json["refused"])
	verdicts := dry.json["verdicts"].([]any)
	require.Equal(t, "not-found", verdicts[8].(map[string]any)["code"])
	require.Equal(t, "duplicate-row", verdicts[9].(map[string]any)["code"])

	// The fixed file, plus one unknown row to show a failure.
	job["dry_run"] = false
	job["rows"] = append(rows, map[string]any{"customer_id": "unknown-customer"})
	created := p.must(202, p.call("POST", "/v1/bulk-jobs", reseller.key, job))
	jobID := created.str("id")
	require.Equal(t, "bulk:"+jobID, created.str("workflow_id"))
	require.Equal(t, "/v1/bulk-jobs/"+jobID, created.header.Get("Location"))

	var progress response
	p.eventually("every consent request sent", func() bool {
		progress = p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID, reseller.key, nil))
		return bulkCounts(progress)["sent"] == 8
	})
	require.Equal(t, "8 / 9 sent · 0 consented · 1 failed", progress.str("progress"))
	require.Greater(t, progress.json["sent_per_minute"].(float64), 0.0)

	// Each customer its own consent link, one e-mail each.
	links := map[string]bool{}
	for i := range ids {
		to := fmt.Sprintf("admin@bulkco%d.example", i-1)
		if i == 0 {
			to = "admin@bulkwood.example"
		}
		mails := mailsToSubject(p.smtp, to, "asks your consent")
		require.Len(t, mails, 1, to)
		link := consentLink.FindString(mails[0].Body)
		require.NotEmpty(t, link)
		links[link] = true
	}
	require.Len(t, links, len(ids))
	var one string
	for l := range links {
		one = l
		break
	}
	require.Equal(t, 200, postForm(t, one+"/consent").status)
	p.eventually("one row completed", func() bool {
		return bulkCounts(p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID, reseller.key, nil)))["completed"] == 1
	})

	failed := p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID+"/rows?status=failed", reseller.key, nil))
	items := failed.json["items"].([]any)
	require.Len(t, items, 1)
	require.Equal(t, "not-found", items[0].(map[string]any)["code"])
	require.EqualValues(t, 9, items[0].(map[string]any)["row"])
	page := p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID+"/rows?limit=4", reseller.key, nil))
	require.Len(t, page.json["items"].([]any), 4)
	next := p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID+"/rows?limit=4&cursor="+page.str("next_cursor"), reseller.key, nil))
	require.EqualValues(t, 5, next.json["items"].([]any)[0].(map[string]any)["row"])
	require.Equal(t, 422, p.call("GET", "/v1/bulk-jobs/"+jobID+"/rows?status=nonsense", reseller.key, nil).status)

	results := p.call("GET", "/v1/bulk-jobs/"+jobID+"/results.csv", reseller.key, nil)
	require.Equal(t, 200, results.status)
	require.Equal(t, "text/csv", results.header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSpace(string(results.body)), "\n")
	require.Len(t, lines, 10)
	require.Equal(t, "row,customer_id,company_name,email,status,onboarding_id,code,reason", lines[0])
	require.Contains(t, string(results.body), ",completed,")

	// Only the reseller sees its job.
	require.Equal(t, 404, p.call("GET", "/v1/bulk-jobs/"+jobID, provider.key, nil).status)

	// Every row's workflow carries BulkJobId.
	p.eventually("rows found by BulkJobId", func() bool {
		res, err := p.app.Temporal.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("BulkJobId = %q AND OnboardingKind = 'extension'", jobID)})
		return err == nil && res.Count == 8
	})

	// Cancel, withdrawing the rows still waiting; a second cancel is refused.
	cancelled := p.must(200, p.call("POST", "/v1/bulk-jobs/"+jobID+"/cancel", reseller.key, map[string]any{"cancel_waiting": true}))
	require.Equal(t, "cancelled", cancelled.str("status"))
	p.eventually("waiting rows withdrawn", func() bool {
		c := bulkCounts(p.must(200, p.call("GET", "/v1/bulk-jobs/"+jobID, reseller.key, nil)))
		return c["cancelled"] == 7 && c["completed"] == 1
	})
	require.Equal(t, 409, p.call("POST", "/v1/bulk-jobs/"+jobID+"/pause", reseller.key, nil).status)
	p.eventually("job closed", func() bool {
		_, err := p.app.Temporal.DescribeWorkflowExecution(context.Background(), "bulk:"+jobID, "")
		return err == nil && p.call("GET", "/v1/bulk-jobs/"+jobID, reseller.key, nil).json["finished_at"] != nil
	})
	saveHistory(t, p.app.Temporal, "bulk:"+jobID, "bulk-job-cancelled.json")
}
