package e2e

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReadYourWrites is what a partner's script does: change something, then
// at once make the request that depends on it. Each state change's answer
// must already be true for the next request (docs/decisions/read-your-writes.md):
// the loop counts every disagreement, and there must be none. Iterations run
// a few at a time, as concurrent partners would; ONBOARDING_RYW_ITERATIONS
// overrides the 100.
func TestReadYourWrites(t *testing.T) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("ONBOARDING_RYW_ITERATIONS")); err == nil && v > 0 {
		n = v
	}
	p := startProduct(t)
	provider := p.createPartner("Read Your Writes Distribution", "indirect_provider", false)
	tally := &tally{checks: map[string]int{}, disagreements: map[string][]string{}}

	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := p.rywIteration(i, provider, tally); err != nil {
					tally.disagree("iteration completes", fmt.Sprintf("iteration %d: %v", i, err))
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("%d iterations in %s", n, time.Since(start).Round(time.Second))
	tally.report(t, n)
}

// Checks that must each run once per iteration.
var rywEveryIteration = []string{
	"partnership accept → POST /v1/invitations",
	"enrollment approve → GET /v1/me",
	"enrollment approve → POST /v1/relationship-extensions",
	"consent → GET extension",
	"invitation cancel → GET invitation",
	"invitation resend → GET invitation",
	"customer accept → GET invitation",
	"delegated admin terminate → GET delegated admin",
	"tenant request approve → GET tenant request",
}

type tally struct {
	mu            sync.Mutex
	checks        map[string]int
	disagreements map[string][]string
}

// check counts one comparison of an answer with the read right after it.
func (t *tally) check(route string, agrees bool, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checks[route]++
	if !agrees {
		t.disagreements[route] = append(t.disagreements[route], fmt.Sprintf(format, args...))
	}
}

func (t *tally) disagree(route, what string) {
	t.check(route, false, "%s", what)
}

func (t *tally) report(tt *testing.T, n int) {
	routes := make([]string, 0, len(t.checks))
	for r := range t.checks {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	total := 0
	for _, r := range routes {
		d := t.disagreements[r]
		total += len(d)
		tt.Logf("%-55s %4d checks, %d disagreements", r, t.checks[r], len(d))
		for i, example := range d {
			if i == 3 {
				tt.Logf("    … and %d more", len(d)-3)
				break
			}
			tt.Logf("    %s", example)
		}
	}
	for _, r := range rywEveryIteration {
		if t.checks[r] < n {
			tt.Errorf("%s: %d checks, want %d", r, t.checks[r], n)
		}
	}
	if total > 0 {
		tt.Errorf("%d disagreements between an answer and the request right after it", total)
	}
}

// rywIteration runs every state change once for a fresh reseller. An error
// is a step that could not run at all; a disagreement is counted in the tally.
func (p *product) rywIteration(i int, provider partner, tl *tally) error {
	name := fmt.Sprintf("RYW %03d", i)
	domain := func(what string) string { return fmt.Sprintf("ryw-%03d-%s.example", i, what) }
	expect := func(status int, r response, err error) (response, error) {
		if err != nil {
			return r, err
		}
		if r.status != status {
			return r, fmt.Errorf("status %d, want %d: %s", r.status, status, r.body)
		}
		return r, nil
	}
	var err error
	var r response
	call := func(status int, method, path, bearer string, body any, headers ...string) response {
		if err != nil {
			return response{}
		}
		r, err = p.try(method, path, bearer, body, headers...)
		r, err = expect(status, r, err)
		return r
	}
	reseller := func(suffix string) partner {
		c := call(201, "POST", "/v1/admin/partners", adminToken, map[string]any{
			"name": name + suffix, "type": "reseller", "direct_bill": true, "contact_email": fmt.Sprintf("ryw-%03d-%s@partners.example", i, strings.ToLower(strings.TrimSpace(suffix)))})
		return partner{id: c.str("id"), key: c.str("api_key")}
	}
	res := reseller(" Reseller")

	// Partnership: created, then accepted; the invitation right after needs it active.
	ps := call(202, "POST", "/v1/partnerships", provider.key, map[string]any{"reseller_id": res.id})
	if err != nil {
		return err
	}
	got := call(200, "GET", "/v1/partnerships/"+ps.str("id"), res.key, nil)
	tl.check("partnership create → GET partnership", got.str("status") == "invited", "%s: %s", ps.str("id"), got.body)
	acc := call(200, "POST", "/v1/partnerships/"+ps.str("id")+"/accept", res.key, nil)
	if err != nil {
		return err
	}
	invite := func(email string) (response, error) {
		return p.try("POST", "/v1/invitations", res.key, map[string]any{
			"provider_id": provider.id, "customer": map[string]any{"company_name": name + " Customer", "email": email},
			"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 90, "auto_extend": false}})
	}
	cancelEmail, acceptEmail := "cancel@"+domain("inv"), "accept@"+domain("inv")
	inv, ierr := invite(cancelEmail)
	if ierr != nil {
		return ierr
	}
	tl.check("partnership accept → POST /v1/invitations", acc.str("status") == "active" && inv.status == 202,
		"accept answered %q, the invitation right after: %d %s", acc.str("status"), inv.status, inv.body)
	// After a disagreement, wait for the database so that the rest of the
	// iteration still runs and counts.
	if inv.status != 202 {
		settle(func() bool { inv, ierr = invite(cancelEmail); return ierr != nil || inv.status == 202 })
	}
	if ierr != nil || inv.status != 202 {
		return fmt.Errorf("no invitation: %v %s", ierr, inv.body)
	}
	got = call(200, "GET", "/v1/invitations/"+inv.str("id"), res.key, nil)
	tl.check("invitation create → GET invitation", got.str("status") == "waiting_for_customer", "%s", got.body)

	if i%4 == 0 {
		// Declined partnership: the invitation right after is refused.
		other := reseller(" Other")
		ps2 := call(202, "POST", "/v1/partnerships", provider.key, map[string]any{"reseller_id": other.id})
		dec := call(200, "POST", "/v1/partnerships/"+ps2.str("id")+"/decline", other.key, nil)
		if err != nil {
			return err
		}
		got, gerr := p.try("GET", "/v1/partnerships/"+ps2.str("id"), other.key, nil)
		if gerr != nil {
			return gerr
		}
		tl.check("partnership decline → GET partnership", dec.str("status") == "declined" && got.str("status") == "declined",
			"decline answered %q, GET: %s", dec.str("status"), got.body)
	}

	// Resend, then cancel: each answer is on the invitation read right after.
	resent := call(202, "POST", "/v1/invitations/"+inv.str("id")+"/resend", res.key, nil)
	got = call(200, "GET", "/v1/invitations/"+inv.str("id"), res.key, nil)
	if err != nil {
		return err
	}
	tl.check("invitation resend → GET invitation", slices.Contains(eventTypes(got), "invitation_resent"),
		"resend %v answered, events %v", resent.json["resend"], eventTypes(got))
	cancelled := call(200, "POST", "/v1/invitations/"+inv.str("id")+"/cancel", res.key, map[string]any{"reason": "testing"})
	got = call(200, "GET", "/v1/invitations/"+inv.str("id"), res.key, nil)
	if err != nil {
		return err
	}
	tl.check("invitation cancel → GET invitation", cancelled.str("status") == "cancelled" && got.str("status") == "cancelled",
		"cancel answered %q, GET: %q", cancelled.str("status"), got.str("status"))
	// The timeline keeps the order of what happened, the answers last.
	tl.check("invitation timeline in order", slices.Equal(eventTypes(got), []string{"invitation_created", "invitation_sent", "invitation_resent", "cancelled_by_partner"}),
		"events %v", eventTypes(got))

	// The customer accepts (the link's JSON answer), then the reseller reads.
	inv2 := call(202, "POST", "/v1/invitations", res.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": name + " Accepting", "email": acceptEmail},
		"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 90, "auto_extend": false}})
	if err != nil {
		return err
	}
	link, lerr := p.linkTo(acceptEmail, "invites you")
	if lerr != nil {
		return lerr
	}
	answered := call(200, "POST", link+"/accept", "", nil, "Accept", "application/json")
	got = call(200, "GET", "/v1/invitations/"+inv2.str("id"), res.key, nil)
	if err != nil {
		return err
	}
	tl.check("customer accept → GET invitation", answered.str("status") == "accepted" && (got.str("status") == "accepted" || got.str("status") == "completed"),
		"accept answered %q, GET: %q", answered.str("status"), got.str("status"))

	if i%4 == 1 {
		declineEmail := "decline@" + domain("inv")
		inv3 := call(202, "POST", "/v1/invitations", res.key, map[string]any{
			"provider_id": provider.id, "customer": map[string]any{"company_name": name + " Declining", "email": declineEmail}})
		if err != nil {
			return err
		}
		link, lerr := p.linkTo(declineEmail, "invites you")
		if lerr != nil {
			return lerr
		}
		declined := call(200, "POST", link+"/decline", "", nil, "Accept", "application/json")
		got := call(200, "GET", "/v1/invitations/"+inv3.str("id"), res.key, nil)
		if err != nil {
			return err
		}
		tl.check("customer decline → GET invitation", declined.str("status") == "declined" && got.str("status") == "declined",
			"decline answered %q, GET: %q", declined.str("status"), got.str("status"))
	}

	// Enrollment: submitted (after a rejection and a resubmission, every other
	// time), approved; /v1/me and the extension right after see it approved.
	enrollment := func() string {
		me := call(200, "GET", "/v1/me", res.key, nil)
		e, _ := me.json["enrollment"].(map[string]any)
		s, _ := e["status"].(string)
		return s
	}
	submitted := call(202, "POST", "/v1/enrollment", res.key, map[string]any{})
	tl.check("enrollment submit → GET /v1/me", submitted.str("status") == "submitted" && enrollment() == "submitted", "submit answered %q", submitted.str("status"))
	if i%2 == 1 {
		rejected := call(200, "POST", "/v1/admin/enrollments/"+res.id+"/reject", adminToken, map[string]any{"reason": "missing tax id"})
		tl.check("enrollment reject → GET /v1/me", rejected.str("status") == "rejected" && enrollment() == "rejected", "reject answered %q", rejected.str("status"))
		settle(func() bool { return enrollment() == "rejected" })
		again := call(202, "POST", "/v1/enrollment", res.key, map[string]any{})
		tl.check("enrollment resubmit → GET /v1/me", again.str("status") == "submitted" && enrollment() == "submitted", "resubmit answered %q", again.str("status"))
		settle(func() bool { return enrollment() == "submitted" })
	}
	customer := func(what string) string {
		c := call(201, "POST", "/v1/customers", res.key, map[string]any{
			"company_name": name + " " + what, "domain": domain(what), "contact_email": "admin@" + domain(what), "bill_to": billTo(name + " " + what)})
		return c.str("id")
	}
	consenting, other := customer("consenting"), customer("other")
	approved := call(200, "POST", "/v1/admin/enrollments/"+res.id+"/approve", adminToken, map[string]any{})
	if err != nil {
		return err
	}
	meStatus := enrollment()
	extend := func(customerID string) (response, error) {
		return p.try("POST", "/v1/relationship-extensions", res.key, map[string]any{
			"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true, "delegated_admin_required": false,
			"consent": map[string]any{"method": "customer_confirmation"}})
	}
	x, xerr := extend(consenting)
	if err != nil || xerr != nil {
		return fmt.Errorf("%v %v", err, xerr)
	}
	tl.check("enrollment approve → GET /v1/me", approved.str("status") == "approved" && meStatus == "approved", "approve answered %q, /v1/me: %q", approved.str("status"), meStatus)
	tl.check("enrollment approve → POST /v1/relationship-extensions", x.status == 202, "approve answered %q, extension: %d %s", approved.str("status"), x.status, x.body)
	if x.status != 202 {
		settle(func() bool { x, xerr = extend(consenting); return xerr != nil || x.status == 202 })
	}
	if x.status != 202 {
		return fmt.Errorf("no extension: %s", x.body)
	}
	got = call(200, "GET", "/v1/relationship-extensions/"+x.str("id"), res.key, nil)
	tl.check("extension create → GET extension", got.str("status") == "waiting_for_consent", "%s", got.body)

	// Consent: the extension read right after has it.
	link, lerr = p.linkTo("admin@"+domain("consenting"), "asks your consent")
	if lerr != nil {
		return lerr
	}
	consented := call(200, "POST", link+"/consent", "", nil, "Accept", "application/json")
	got = call(200, "GET", "/v1/relationship-extensions/"+x.str("id"), res.key, nil)
	if err != nil {
		return err
	}
	tl.check("consent → GET extension", consented.str("status") == "consent_given" && slices.Contains(eventTypes(got), "consent_given") &&
		(got.str("status") == "waiting_for_consent" || got.str("status") == "completed"),
		"consent answered %q, GET: %q %v", consented.str("status"), got.str("status"), eventTypes(got))

	// The other customer's extension is cancelled or declined.
	y, yerr := extend(other)
	if yerr != nil || y.status != 202 {
		return fmt.Errorf("second extension: %v %s", yerr, y.body)
	}
	if i%2 == 0 {
		c := call(200, "POST", "/v1/relationship-extensions/"+y.str("id")+"/cancel", res.key, map[string]any{"reason": "testing"})
		got := call(200, "GET", "/v1/relationship-extensions/"+y.str("id"), res.key, nil)
		tl.check("extension cancel → GET extension", c.str("status") == "cancelled" && got.str("status") == "cancelled", "cancel answered %q, GET: %q", c.str("status"), got.str("status"))
	} else {
		link, lerr := p.linkTo("admin@"+domain("other"), "asks your consent")
		if lerr != nil {
			return lerr
		}
		d := call(200, "POST", link+"/decline", "", nil, "Accept", "application/json")
		got := call(200, "GET", "/v1/relationship-extensions/"+y.str("id"), res.key, nil)
		tl.check("consent decline → GET extension", d.str("status") == "consent_declined" && got.str("status") == "consent_declined", "decline answered %q, GET: %q", d.str("status"), got.str("status"))
	}
	if err != nil {
		return err
	}

	// Tenant requests: approved (and rejected, every fourth time).
	tenantRequest := func(what string) response {
		return call(202, "POST", "/v1/customer-tenant-requests", res.key, map[string]any{"provider_id": provider.id, "company_name": name + " " + what,
			"domain": domain(what), "contact_email": "admin@" + domain(what), "bill_to": billTo(name + " " + what)})
	}
	tr := tenantRequest("tenant")
	got = call(200, "GET", "/v1/customer-tenant-requests/"+tr.str("id"), res.key, nil)
	tl.check("tenant request create → GET tenant request", got.str("status") == "waiting_for_provider", "%s", got.body)
	ok := call(200, "POST", "/v1/customer-tenant-requests/"+tr.str("id")+"/approve", provider.key, map[string]any{})
	got = call(200, "GET", "/v1/customer-tenant-requests/"+tr.str("id"), res.key, nil)
	if err != nil {
		return err
	}
	tl.check("tenant request approve → GET tenant request", ok.str("status") == "approved" && (got.str("status") == "approved" || got.str("status") == "completed"),
		"approve answered %q, GET: %q", ok.str("status"), got.str("status"))
	if i%4 == 2 {
		tr2 := tenantRequest("refused")
		no := call(200, "POST", "/v1/customer-tenant-requests/"+tr2.str("id")+"/reject", provider.key, map[string]any{"reason": "domain not verified"})
		got := call(200, "GET", "/v1/customer-tenant-requests/"+tr2.str("id"), res.key, nil)
		if err != nil {
			return err
		}
		tl.check("tenant request reject → GET tenant request", no.str("status") == "rejected" && got.str("status") == "rejected", "reject answered %q, GET: %q", no.str("status"), got.str("status"))
	}

	// Delegated admin: the accepted invitation's grant, terminated.
	var daID string
	deadline := time.Now().Add(60 * time.Second)
	for daID == "" && time.Now().Before(deadline) {
		items, _ := call(200, "GET", "/v1/delegated-admin-relationships?status=active", res.key, nil).json["items"].([]any)
		if len(items) == 1 {
			daID, _ = items[0].(map[string]any)["id"].(string)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err != nil || daID == "" {
		return fmt.Errorf("no delegated admin relationship within a minute: %v", err)
	}
	term := call(200, "POST", "/v1/delegated-admin-relationships/"+daID+"/terminate", res.key, map[string]any{"reason": "customer offboarded"})
	got = call(200, "GET", "/v1/delegated-admin-relationships/"+daID, res.key, nil)
	if err != nil {
		return err
	}
	tl.check("delegated admin terminate → GET delegated admin", term.str("status") == "terminated" && got.str("status") == "terminated",
		"terminate answered %q, GET: %q", term.str("status"), got.str("status"))
	return nil
}

// settle polls until done holds, for at most 30 seconds.
func settle(done func() bool) {
	for deadline := time.Now().Add(30 * time.Second); !done() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
}

// linkTo is the personal link in the first e-mail to an address.
func (p *product) linkTo(to, subject string) (string, error) {
	m, err := p.smtp.WaitFor(to, subject, 60*time.Second)
	if err != nil {
		return "", err
	}
	for _, re := range []interface{ FindString(string) string }{invitationLink, consentLink} {
		if l := re.FindString(m.Body); l != "" {
			return l, nil
		}
	}
	return "", fmt.Errorf("no link in the e-mail to %s", to)
}
