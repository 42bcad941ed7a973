package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/workflows"
)

// bulkEnv is a provider and an approved direct-bill reseller with an
// active partnership, and n direct-bill customers of the reseller.
type bulkEnv struct {
	*startEnv
	provider, reseller models.Partner
	providerKey, key   string
	customers          []string
}

func newBulkEnv(t testing.TB, dialect migrations.Dialect, n int) *bulkEnv {
	st := storetest.New(t, dialect)
	temporal := &fakeTemporal{}
	deps := Deps{Store: st, Temporal: temporal, Config: config.Default(), Logger: slog.New(slog.DiscardHandler)}
	deps.Config.RateLimits = config.RateLimits{}
	return seedBulkEnv(t, &startEnv{st: st, temporal: temporal, deps: deps, e: New(deps)}, n)
}

func seedBulkEnv(t testing.TB, env *startEnv, n int) *bulkEnv {
	ctx := context.Background()
	b := &bulkEnv{startEnv: env}
	b.provider, b.providerKey = seedPartner(t, env.st, models.PartnerTypeIndirectProvider)
	b.reseller, b.key = seedPartner(t, env.st, models.PartnerTypeReseller)
	now := time.Now().UTC()
	p := models.Partnership{ID: newID(), ProviderID: b.provider.ID, ResellerID: b.reseller.ID, Status: models.PartnershipActive,
		WorkflowID: "partnership:seeded", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
	if err := env.st.CreatePartnership(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.SubmitEnrollment(ctx, b.reseller.ID, workflows.EnrollmentWorkflowID(b.reseller.ID)); err != nil {
		t.Fatal(err)
	}
	if err := env.st.SetEnrollmentStatus(ctx, b.reseller.ID, models.EnrollmentApproved, ""); err != nil {
		t.Fatal(err)
	}
	b.reseller.EnrollmentStatus = models.EnrollmentApproved
	for i := range n {
		c := models.Customer{ID: newID(), CompanyName: fmt.Sprint("Woodgrove ", i), ContactEmail: fmt.Sprintf("admin%d@woodgrove.example", i),
			AcquiredVia: models.AcquiredViaDirectBill, CreatedBy: b.reseller.ID, CreatedAt: now, UpdatedAt: now}
		if err := env.st.CreateCustomer(ctx, &c, models.PartnerTypeReseller); err != nil {
			t.Fatal(err)
		}
		b.customers = append(b.customers, c.ID)
	}
	return b
}

type dryRun struct {
	Total, Ok, Refused int
	Verdicts           []struct {
		Row    int
		Ok     bool
		Code   oapi.ProblemCode
		Detail string
	}
}

func (b *bulkEnv) post(t testing.TB, body string, want int) []byte {
	t.Helper()
	rec := b.call(http.MethodPost, "/v1/bulk-jobs", b.key, body)
	if rec.Code != want {
		t.Fatalf("POST /v1/bulk-jobs: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func extensionRows(ids ...string) string {
	rows := make([]string, len(ids))
	for i, id := range ids {
		rows[i] = `{"customer_id":"` + id + `"}`
	}
	return strings.Join(rows, ",")
}

// TestBulkDryRunGivesEveryRowTheSingleRoutesVerdict: a dry run checks each
// row with the single route's rules plus the file's own duplicates, the
// rows another job holds and onboardings already waiting; it starts nothing.
func TestBulkDryRunGivesEveryRowTheSingleRoutesVerdict(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { bulkDryRunVerdicts(t, d) })
	}
}

func bulkDryRunVerdicts(t *testing.T, dialect migrations.Dialect) {
	ctx := context.Background()
	b := newBulkEnv(t, dialect, 6)
	c := b.customers
	now := time.Now().UTC()
	// c[1] is related already; c[2] came through an invitation (R2); c[3] has an extension waiting.
	if _, err := b.st.CreateRelationship(ctx, models.Relationship{ID: newID(), CustomerID: c[1], ProviderID: b.provider.ID, ResellerID: b.reseller.ID,
		Source: models.SourceInvitation, SourceID: "seed", Status: models.RelationshipActive, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	invited := models.Customer{ID: newID(), CompanyName: "Invited", ContactEmail: "a@invited.example", AcquiredVia: models.AcquiredViaInvitation,
		CreatedBy: b.reseller.ID, CreatedAt: now, UpdatedAt: now}
	if err := b.st.CreateCustomer(ctx, &invited, models.PartnerTypeReseller); err != nil {
		t.Fatal(err)
	}
	if err := b.st.CreateExtension(ctx, &models.RelationshipExtension{ID: newID(), ResellerID: b.reseller.ID, ProviderID: b.provider.ID, CustomerID: c[3],
		Status: models.ExtensionWaitingForConsent, ConsentMethod: models.ConsentCustomerConfirmation, WorkflowID: "extension:seeded",
		ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// Another job holds c[4]: its rows wait to start (the fake workflow service runs nothing).
	b.post(t, `{"kind":"relationship_extension","provider_id":"`+b.provider.ID+`","share_bill_to":true,"rows":[`+extensionRows(c[4])+`]}`, http.StatusAccepted)
	starts := len(b.temporal.starts)

	body := `{"kind":"relationship_extension","provider_id":"` + b.provider.ID + `","share_bill_to":true,"dry_run":true,"rows":[` +
		extensionRows(c[0], c[1], invited.ID, c[3], c[4], "no-such-customer", c[0], c[5]) + `,{"email":"x@y.example"}]}`
	var got dryRun
	if err := json.Unmarshal(b.post(t, body, http.StatusOK), &got); err != nil {
		t.Fatal(err)
	}
	want := []oapi.ProblemCode{"", rules.RelationshipExists, CodeCustomerNotDirectBill, CodeConflict, CodeHeldByAnotherJob, CodeNotFound, CodeDuplicateRow, "", CodeValidationFailed}
	if got.Total != len(want) || got.Ok != 2 || got.Refused != len(want)-2 {
		t.Fatalf("totals: %+v", got)
	}
	for i, v := range got.Verdicts {
		if v.Row != i+1 || v.Code != want[i] || v.Ok != (want[i] == "") {
			t.Errorf("row %d: verdict %+v, want code %q", i+1, v, want[i])
		}
	}
	if len(b.temporal.starts) != starts {
		t.Fatalf("a dry run started workflows: %v", b.temporal.starts[starts:])
	}

	// A job-wide rule breaks every row with its code (R4 here).
	got = dryRun{}
	if err := json.Unmarshal(b.post(t, `{"kind":"relationship_extension","provider_id":"`+b.provider.ID+`","dry_run":true,"rows":[`+extensionRows(c[0], c[5])+`]}`, http.StatusOK), &got); err != nil {
		t.Fatal(err)
	}
	for _, v := range got.Verdicts {
		if v.Code != "bill-to-sharing-not-acknowledged" {
			t.Errorf("without share_bill_to: %+v", v)
		}
	}
}

// TestBulkCSVUploadOfInvitations: a CSV upload with a header row, its
// options in the query; e-mail syntax and duplicates are row verdicts, and
// a column the README does not name is refused.
func TestBulkCSVUploadOfInvitations(t *testing.T) {
	b := newBulkEnv(t, migrations.SQLite, 1)
	csv := "company_name,email,customer_id\nNorthwind,admin@northwind.example,\nFabrikam,not-an-address,\nNorthwind again,ADMIN@northwind.example,\n,," + b.customers[0] + "\n"
	rec := b.call(http.MethodPost, "/v1/bulk-jobs?kind=invitation&dry_run=true&provider_id="+b.provider.ID, b.key, csv, "Content-Type", "text/csv")
	if rec.Code != http.StatusOK {
		t.Fatalf("CSV dry run: %d %s", rec.Code, rec.Body)
	}
	var got dryRun
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []oapi.ProblemCode{"", CodeValidationFailed, CodeDuplicateRow, ""}
	for i, v := range got.Verdicts {
		if v.Code != want[i] {
			t.Errorf("row %d: %+v, want %q", i+1, v, want[i])
		}
	}
	rec = b.call(http.MethodPost, "/v1/bulk-jobs?kind=invitation&dry_run=true&provider_id="+b.provider.ID, b.key, "name,mail\na,b\n", "Content-Type", "text/csv")
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `column \"name\"`) {
		t.Fatalf("unknown column: %d %s", rec.Code, rec.Body)
	}
	// Another partner's job is not found; a provider runs no jobs.
	rec = b.call(http.MethodPost, "/v1/bulk-jobs", b.providerKey, `{"kind":"invitation","provider_id":"x","rows":[{"email":"a@b.example","company_name":"A"}]}`)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("provider's job: %d %s", rec.Code, rec.Body)
	}
}

// BenchmarkBulkDryRun5000 is the dry run of a 5,000-row extension job on
// the embedded default (SQLite); the goal is at most 5 s.
func BenchmarkBulkDryRun5000(b *testing.B) {
	env := newBulkEnv(b, migrations.SQLite, 5000)
	body := `{"kind":"relationship_extension","provider_id":"` + env.provider.ID + `","share_bill_to":true,"dry_run":true,"rows":[` + extensionRows(env.customers...) + `]}`
	b.ResetTimer()
	for b.Loop() {
		var got dryRun
		if err := json.Unmarshal(env.post(b, body, http.StatusOK), &got); err != nil {
			b.Fatal(err)
		}
		if got.Ok != 5000 {
			b.Fatalf("ok rows: %d", got.Ok)
		}
	}
}
