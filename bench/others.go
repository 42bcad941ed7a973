package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/mail/mailtest"
)

// The other onboarding kinds, driven end to end through the real HTTP API
// after the invitations, so that the report gives the engine cost and the
// rates of each: a relationship extension with the customer's consent by
// e-mail, and a tenant request the provider approves.

// consentPath finds the consent link's path (as linkPath does the invitation's).
var consentPath = regexp.MustCompile(`/c/[A-Za-z0-9_-]{43}`)

// benchBillTo is the bill-to block a direct-bill customer and a tenant
// request carry.
func benchBillTo(company, domain string) map[string]any {
	return map[string]any{"company_name": company, "address_line1": "1 Main Street", "city": "Seattle", "postal_code": "98101",
		"country": "US", "email": "billing@" + domain, "phone": "+1 425 555 0100"}
}

// kindRun is one kind's samples: the create, the answer (consent or
// approval), create → completed.
type kindRun struct {
	name                     string
	create, answer, complete *samples
	ids                      sampleIDs // workflow ids of completed onboardings, for their cost
}

func newKindRun(name string) *kindRun {
	return &kindRun{name: name, create: &samples{}, answer: &samples{}, complete: &samples{}}
}

// drive runs n round trips on `concurrency` goroutines and reports the kind.
func (k *kindRun) drive(ctx context.Context, n, concurrency int, one func(i int) error) *KindReport {
	var errs atomic.Int64
	begin := time.Now()
	parallel(ctx, n, concurrency, func(i int) {
		if err := one(i); err != nil && errs.Add(1) <= 3 {
			fmt.Fprintf(os.Stderr, "  %s error: %v\n", k.name, err)
		}
	})
	completed := len(k.ids.list())
	rep := &KindReport{Driven: n, Completed: completed, Errors: errs.Load(), Concurrency: concurrency,
		PerSecond: float64(completed) / time.Since(begin).Seconds()}
	progress(fmt.Sprintf("  %.1f %ss/s, %d of %d completed, %d errors", rep.PerSecond, k.name, completed, n, rep.Errors))
	return rep
}

// record puts the kind's latencies into the report under <name>_create,
// <name>_<answer> and <name>_create_to_completed.
func (k *kindRun) record(r *Report, answer string) {
	r.Latency[k.name+"_create"] = k.create.summary()
	r.Latency[k.name+"_"+answer] = k.answer.summary()
	r.Latency[k.name+"_create_to_completed"] = k.complete.summary()
}

// runOthers drives o.nOther extensions and o.nOther tenant requests, each
// kind on its own (their rates do not mix), and reads their cost from
// their histories (the relationship child included, as for invitations).
func (r *Report) runOthers(ctx context.Context, o options, h *httpClient, temporal client.Client, smtp *mailtest.Server, admin string, provider, reseller partner) error {
	// Domains are unique across the app database, which may be a Postgres
	// kept between runs (DATABASE_URL): each run uses its own. They are not
	// under bench.example, the partners' domain: a customer's contact must
	// not be on its reseller's domain.
	run := time.Now().Unix()

	// An extension needs a direct-bill reseller whose enrollment is
	// approved (R1), its own direct-bill customers (R2: not the
	// invitations' customers, which came by invitation), an active
	// partnership with the provider (R3) and the bill-to share acknowledged
	// (R4). The invitations' reseller stays as it was, so that its run is
	// measured as before.
	progress(fmt.Sprintf("Extensions: a direct-bill reseller (enrollment approved, partnership with the provider) and %d direct-bill customers…", o.nOther))
	direct, err := directBillReseller(ctx, h, admin, provider)
	if err != nil {
		return fmt.Errorf("direct-bill reseller: %w", err)
	}
	customers := make([]string, o.nOther)
	var setupErr atomic.Value
	parallel(ctx, o.nOther, o.concurrency, func(i int) {
		domain := fmt.Sprintf("ext-%d-%d.bench-customers.example", i, run)
		company := fmt.Sprintf("Bench Direct %d Ltd", i)
		res, err := h.post(ctx, "/v1/customers", direct.key, map[string]any{"company_name": company, "domain": domain,
			"contact_email": "admin@" + domain, "bill_to": benchBillTo(company, domain)})
		if err != nil {
			setupErr.Store(err)
			return
		}
		customers[i], _ = res["id"].(string)
	})
	if err, _ := setupErr.Load().(error); err != nil {
		return fmt.Errorf("direct-bill customers: %w", err)
	}

	progress(fmt.Sprintf("End to end: %d relationship extensions, %d concurrent (create → consent e-mail over SMTP → consent → relationship)…", o.nOther, o.concurrency))
	ext := newKindRun("extension")
	r.Extensions = ext.drive(ctx, o.nOther, o.concurrency, func(i int) error {
		return extensionRoundTrip(ctx, h, temporal, smtp, provider, direct, customers[i], fmt.Sprintf("admin@ext-%d-%d.bench-customers.example", i, run), ext)
	})
	ext.record(r, "consent")

	progress(fmt.Sprintf("End to end: %d tenant requests, %d concurrent (create → provider's e-mail over SMTP → approve → customer and relationship)…", o.nOther, o.concurrency))
	tr := newKindRun("tenant_request")
	r.TenantRequests = tr.drive(ctx, o.nOther, o.concurrency, func(i int) error {
		return tenantRequestRoundTrip(ctx, h, temporal, smtp, provider, reseller, i, run, tr)
	})
	tr.record(r, "approve")

	r.costOf(ctx, temporal, ext.name, ext.ids.list())
	r.costOf(ctx, temporal, tr.name, tr.ids.list())
	return nil
}

// directBillReseller registers a direct-bill reseller, runs its enrollment
// to approved (submitted by it, approved by an operator) and its
// partnership with the provider to active.
func directBillReseller(ctx context.Context, h *httpClient, admin string, provider partner) (partner, error) {
	direct, err := createPartner(ctx, h, admin, "Bench Direct Reseller", "reseller", true)
	if err != nil {
		return direct, err
	}
	if err := activePartnership(ctx, h, provider, direct); err != nil {
		return direct, err
	}
	enrollment := func(status string) func() bool {
		return func() bool {
			me, err := h.do(ctx, http.MethodGet, "/v1/me", direct.key, nil)
			e, _ := me["enrollment"].(map[string]any)
			return err == nil && e["status"] == status
		}
	}
	if _, err := h.post(ctx, "/v1/enrollment", direct.key, map[string]any{}); err != nil {
		return direct, err
	}
	if err := eventually(ctx, time.Minute, "enrollment submitted", enrollment("submitted")); err != nil {
		return direct, err
	}
	if _, err := h.post(ctx, "/v1/admin/enrollments/"+direct.id+"/approve", admin, map[string]any{}); err != nil {
		return direct, err
	}
	return direct, eventually(ctx, time.Minute, "enrollment approved", enrollment("approved"))
}

// extensionRoundTrip is one extension: the reseller asks, the customer gets
// the consent e-mail and consents on the link's page, the workflow makes
// the relationship; then one GET must show it completed with it.
func extensionRoundTrip(ctx context.Context, h *httpClient, temporal client.Client, smtp *mailtest.Server, provider, reseller partner, customerID, email string, k *kindRun) error {
	t0 := time.Now()
	res, err := h.post(ctx, "/v1/relationship-extensions", reseller.key, map[string]any{
		"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true, "delegated_admin_required": false,
		"consent": map[string]any{"method": "customer_confirmation"}})
	if err != nil {
		return err
	}
	k.create.add(time.Since(t0))
	id, _ := res["id"].(string)
	workflowID, _ := res["workflow_id"].(string)
	msg, err := smtp.WaitFor(email, "asks your consent", h.mailWait())
	if err != nil {
		return err
	}
	link := consentPath.FindString(msg.Body)
	if link == "" {
		return fmt.Errorf("no consent link in the e-mail to %s", email)
	}
	t1 := time.Now()
	if _, err := h.do(ctx, http.MethodPost, link+"/consent", "", nil); err != nil {
		return err
	}
	k.answer.add(time.Since(t1))
	// As for invitations: a long poll on the workflow's result, then one GET.
	if err := temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("extension %s: %w", id, err)
	}
	x, err := h.do(ctx, http.MethodGet, "/v1/relationship-extensions/"+id, reseller.key, nil)
	if err != nil {
		return err
	}
	if x["status"] != "completed" || x["relationship_id"] == nil {
		return fmt.Errorf("extension %s ended %v without a relationship", id, x["status"])
	}
	k.complete.add(time.Since(t0))
	k.ids.add(workflowID)
	return nil
}

// tenantRequestRoundTrip is one tenant request: the reseller asks, the
// provider gets its e-mail and approves through its API, the workflow
// registers the customer and makes the relationship; then one GET must
// show it completed with both.
func tenantRequestRoundTrip(ctx context.Context, h *httpClient, temporal client.Client, smtp *mailtest.Server, provider, reseller partner, i int, run int64, k *kindRun) error {
	// "… Ltd" ends the name, so that the subject of request 1 is not part of request 12's.
	company := fmt.Sprintf("Bench Tenant %d Ltd", i)
	domain := fmt.Sprintf("tr-%d-%d.bench-customers.example", i, run)
	t0 := time.Now()
	res, err := h.post(ctx, "/v1/customer-tenant-requests", reseller.key, map[string]any{"provider_id": provider.id, "company_name": company,
		"domain": domain, "contact_email": "admin@" + domain, "bill_to": benchBillTo(company, domain)})
	if err != nil {
		return err
	}
	k.create.add(time.Since(t0))
	id, _ := res["id"].(string)
	workflowID, _ := res["workflow_id"].(string)
	// The provider answers what its e-mail asked, as a customer accepts
	// what its invitation e-mail linked: the approve meets a waiting workflow.
	if _, err := smtp.WaitFor(partnerEmail("Bench Provider"), "Tenant request from Bench Reseller: "+company, h.mailWait()); err != nil {
		return err
	}
	t1 := time.Now()
	if _, err := h.post(ctx, "/v1/customer-tenant-requests/"+id+"/approve", provider.key, map[string]any{}); err != nil {
		return err
	}
	k.answer.add(time.Since(t1))
	if err := temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("tenant request %s: %w", id, err)
	}
	got, err := h.do(ctx, http.MethodGet, "/v1/customer-tenant-requests/"+id, reseller.key, nil)
	if err != nil {
		return err
	}
	if got["status"] != "completed" || got["customer_id"] == nil || got["relationship_id"] == nil {
		return fmt.Errorf("tenant request %s ended %v (customer %v, relationship %v)", id, got["status"], got["customer_id"], got["relationship_id"])
	}
	k.complete.add(time.Since(t0))
	k.ids.add(workflowID)
	return nil
}
