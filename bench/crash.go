package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/csp-onboarding/onboarding/cluster"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
)

// -crash: during the cluster's invitation load, kill -9 one worker and one
// api process, restart them, and check afterwards that nothing was lost or
// done twice. The load client retries as cluster/cluster_test.go's
// `retrying` does (a careful partner's script), with an Idempotency-Key on
// each create.

// CrashReport is what the crash check found.
type CrashReport struct {
	Invitations int       `json:"invitations"`
	Killed      []string  `json:"killed"`            // the processes killed with SIGKILL
	KilledAt    time.Time `json:"killed_at"`         // the worker's SIGKILL
	AtCreated   int64     `json:"killed_at_created"` // invitations created by then
	// RestartSeconds is from the SIGKILL until both processes were ready again.
	RestartSeconds float64 `json:"restart_seconds"`
	FaultError     string  `json:"fault_error,omitempty"` // the kill or restart itself failed
	CheckError     string  `json:"check_error,omitempty"` // the check could not read what it counts

	// Every invitation, read back through the API after the load.
	Completed             int      `json:"completed_with_relationship"`
	NotCompleted          int      `json:"not_completed"` // lost: never created, or not completed with a relationship
	NotCompletedExamples  []string `json:"not_completed_examples,omitempty"`
	Relationships         int      `json:"relationships_listed"` // the reseller's, listed through the API
	DuplicateCustomers    int      `json:"customers_with_more_than_one_relationship"`
	DuplicateInvitations  int      `json:"invitations_with_more_than_one_relationship"`
	UnlistedRelationships int      `json:"invitation_relationships_not_listed"`
	// DoubledTimelines are invitations whose timeline has a step twice
	// (a record written again after the crash).
	DoubledTimelines int      `json:"timelines_with_a_step_twice"`
	TimelineExamples []string `json:"timeline_examples,omitempty"`
	// Slowest is the timeline of the invitation that took longest from its
	// first step to its last, with the time between steps: where the crash
	// made it wait.
	Slowest string `json:"slowest_timeline,omitempty"`

	// E-mails received during the cluster's load, counted per recipient and subject.
	Emails int `json:"emails"`
	// DuplicateEmails were delivered more than once with no SIGKILL to explain them: a defect.
	DuplicateEmails   int      `json:"duplicate_emails"`
	DuplicateExamples []string `json:"duplicate_email_examples,omitempty"`
	// CutByKill were delivered twice, the first copy within 3 s before the
	// worker's SIGKILL: the relay accepted the message, the kill came before
	// the outbox recorded it, the activity's retry sent it again. No SMTP
	// sender can rule that out (cluster_test explains it).
	CutByKill int `json:"duplicates_cut_by_the_kill"`

	// What the API answered the retrying client meanwhile.
	Answers FaultCounts `json:"answers"`
}

// FaultCounts are the answers that made the client retry, and the others.
type FaultCounts struct {
	Retries      int64    `json:"retries"`
	Unavailable  int64    `json:"unavailable_502_503_504"`
	LostConn     int64    `json:"connection_errors"`
	Hung         int64    `json:"timeouts"`
	ServerErrors int64    `json:"other_5xx"`
	Examples     []string `json:"examples,omitempty"`
}

// failures is why the crash check failed; empty when it passed.
func (c *CrashReport) failures() []string {
	var out []string
	if c.FaultError != "" {
		out = append(out, "the faults were not injected as planned: "+c.FaultError)
	}
	if c.CheckError != "" {
		out = append(out, "the check could not finish: "+c.CheckError)
	}
	if c.NotCompleted > 0 {
		out = append(out, fmt.Sprintf("%d of %d invitations lost or not completed with a relationship (%s)", c.NotCompleted, c.Invitations, strings.Join(c.NotCompletedExamples, ", ")))
	}
	if c.DuplicateCustomers > 0 || c.DuplicateInvitations > 0 {
		out = append(out, fmt.Sprintf("relationships made twice: %d customers, %d invitations with more than one", c.DuplicateCustomers, c.DuplicateInvitations))
	}
	if c.DoubledTimelines > 0 {
		out = append(out, fmt.Sprintf("%d invitations with a step twice in their timeline (%s)", c.DoubledTimelines, strings.Join(c.TimelineExamples, "; ")))
	}
	if c.Relationships > c.Invitations {
		out = append(out, fmt.Sprintf("%d relationships listed for %d invitations", c.Relationships, c.Invitations))
	}
	if c.UnlistedRelationships > 0 {
		out = append(out, fmt.Sprintf("%d invitations' relationships missing from the reseller's list", c.UnlistedRelationships))
	}
	if c.DuplicateEmails > 0 {
		out = append(out, fmt.Sprintf("%d e-mails delivered twice not explained by the SIGKILL (%s)", c.DuplicateEmails, strings.Join(c.DuplicateExamples, "; ")))
	}
	if c.Answers.ServerErrors > 0 {
		out = append(out, fmt.Sprintf("%d answers 5xx other than 502/503/504 (%s)", c.Answers.ServerErrors, strings.Join(c.Answers.Examples, "; ")))
	}
	return out
}

// faultLog counts what made the crash-mode client retry.
type faultLog struct {
	retries, unavailable, lostConn, hung, serverErrors atomic.Int64
	mu                                                 sync.Mutex
	examples                                           []string
}

func (f *faultLog) note(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.examples) < 10 {
		f.examples = append(f.examples, what)
	}
}

// retry tells whether a call is to be sent again: after a lost connection
// (the api process was killed), a timeout, or 502/503/504 (a dependency
// away). Any other 5xx is a finding, not retried.
func (f *faultLog) retry(method, path string, status int, body []byte, err error) bool {
	var ne net.Error
	switch {
	case err != nil && errors.As(err, &ne) && ne.Timeout():
		f.hung.Add(1)
		f.note(method + " " + path + ": " + err.Error())
	case err != nil:
		f.lostConn.Add(1)
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		f.unavailable.Add(1)
	case status >= 500:
		f.serverErrors.Add(1)
		f.note(fmt.Sprintf("%s %s: %d %s", method, path, status, body))
		return false
	default:
		return false
	}
	f.retries.Add(1)
	return true
}

func (f *faultLog) counts() FaultCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FaultCounts{Retries: f.retries.Load(), Unavailable: f.unavailable.Load(), LostConn: f.lostConn.Load(), Hung: f.hung.Load(),
		ServerErrors: f.serverErrors.Load(), Examples: append([]string(nil), f.examples...)}
}

// crashRun injects the faults once a third of the load was created.
type crashRun struct {
	c        *cluster.Cluster
	n        int
	created  atomic.Int64
	done     chan struct{}
	report   CrashReport
	killedAt time.Time
}

func startCrash(ctx context.Context, c *cluster.Cluster, n int) *crashRun {
	cr := &crashRun{c: c, n: n, done: make(chan struct{}), report: CrashReport{Invitations: n}}
	go func() {
		defer close(cr.done)
		if err := cr.inject(ctx); err != nil {
			cr.report.FaultError = err.Error()
			progress("  crash: " + err.Error())
		}
	}()
	return cr
}

func (cr *crashRun) inject(ctx context.Context) error {
	for cr.created.Load() < int64(max(1, cr.n/3)) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	worker, api := cr.c.Workers[0], cr.c.APIs[0]
	cr.report.AtCreated = cr.created.Load()
	progress(fmt.Sprintf("  crash: %d of %d invitations created: SIGKILL %s and %s", cr.report.AtCreated, cr.n, worker.Name, api.Name))
	cr.killedAt = time.Now()
	cr.report.KilledAt = cr.killedAt.UTC()
	cr.report.Killed = []string{worker.Name, api.Name}
	if err := worker.Kill(); err != nil {
		return err
	}
	if err := api.Kill(); err != nil {
		return err
	}
	// Down for a moment, as a crashed process is until its supervisor
	// restarts it (cluster_test waits the same).
	time.Sleep(2 * time.Second)
	for _, s := range []*cluster.Service{worker, api} {
		if err := s.Start(); err != nil {
			return err
		}
	}
	for _, s := range []*cluster.Service{worker, api} {
		if err := s.WaitReady(ctx, time.Minute); err != nil {
			return fmt.Errorf("%s after its restart: %w", s.Name, err)
		}
	}
	cr.report.RestartSeconds = time.Since(cr.killedAt).Seconds()
	progress(fmt.Sprintf("  crash: both restarted and ready %.1f s after the SIGKILL", cr.report.RestartSeconds))
	return nil
}

// verify reads back every invitation and the reseller's relationships
// through the API, and counts the e-mails received since loadBegin.
func (cr *crashRun) verify(ctx context.Context, h *httpClient, reseller partner, ids []string, smtp *mailtest.Server, loadBegin time.Time) *CrashReport {
	<-cr.done
	rep := &cr.report
	progress("Crash check: every invitation, the reseller's relationships, the e-mails…")
	relationshipOf := map[string]string{} // invitation id → its relationship
	var slowest time.Duration
	for i, id := range ids {
		lost := func(why string) {
			rep.NotCompleted++
			if len(rep.NotCompletedExamples) < 10 {
				rep.NotCompletedExamples = append(rep.NotCompletedExamples, fmt.Sprintf("#%d %s", i, why))
			}
		}
		if id == "" {
			lost("never created")
			continue
		}
		inv, err := h.do(ctx, http.MethodGet, "/v1/invitations/"+id, reseller.key, nil)
		if err != nil {
			lost(id + ": " + err.Error())
			continue
		}
		rel, _ := inv["relationship_id"].(string)
		if inv["status"] != "completed" || rel == "" {
			lost(fmt.Sprintf("%s ended %v, relationship %q", id, inv["status"], rel))
			continue
		}
		rep.Completed++
		relationshipOf[id] = rel
		seen, doubled := map[string]bool{}, false
		events, _ := inv["events"].([]any)
		var first, last time.Time
		var steps []string
		for _, e := range events {
			ev, _ := e.(map[string]any)
			typ := fmt.Sprint(ev["type"])
			if seen[typ] && !doubled {
				doubled = true
				rep.DoubledTimelines++
				if len(rep.TimelineExamples) < 10 {
					rep.TimelineExamples = append(rep.TimelineExamples, id+": "+typ+" twice")
				}
			}
			seen[typ] = true
			at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["at"]))
			if first.IsZero() {
				first = at
				steps = append(steps, typ)
			} else {
				steps = append(steps, fmt.Sprintf("+%.1f s %s", at.Sub(last).Seconds(), typ))
			}
			last = at
		}
		if took := last.Sub(first); took > slowest {
			slowest = took
			rep.Slowest = fmt.Sprintf("%s (%.1f s): %s", id, took.Seconds(), strings.Join(steps, ", "))
		}
	}

	perCustomer, perSource, listed := map[string]int{}, map[string]int{}, map[string]bool{}
	cursor := ""
	for {
		path := "/v1/relationships?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		page, err := h.do(ctx, http.MethodGet, path, reseller.key, nil)
		if err != nil {
			rep.CheckError = "listing the relationships: " + err.Error()
			break
		}
		items, _ := page["items"].([]any)
		for _, it := range items {
			rel, _ := it.(map[string]any)
			rep.Relationships++
			perCustomer[fmt.Sprint(rel["customer_id"])]++
			perSource[fmt.Sprint(rel["source"], ":", rel["source_id"])]++
			listed[fmt.Sprint(rel["id"])] = true
		}
		if cursor, _ = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	for _, n := range perCustomer {
		if n > 1 {
			rep.DuplicateCustomers++
		}
	}
	for _, n := range perSource {
		if n > 1 {
			rep.DuplicateInvitations++
		}
	}
	for _, rel := range relationshipOf {
		if !listed[rel] {
			rep.UnlistedRelationships++
		}
	}

	rep.Emails, rep.DuplicateEmails, rep.CutByKill, rep.DuplicateExamples = countEmails(smtp.Messages(), loadBegin, cr.killedAt)
	rep.Answers = h.faults.counts()
	if rep.Slowest != "" {
		progress("  slowest invitation " + rep.Slowest)
	}
	progress(fmt.Sprintf("  %d of %d invitations completed with a relationship, %d with a step twice in their timeline; %d relationships listed, %d customers with more than one; "+
		"%d e-mails, %d delivered twice without cause, %d cut by the kill; %d retries (%d lost connections, %d × 502/503/504, %d timeouts), %d other 5xx",
		rep.Completed, rep.Invitations, rep.DoubledTimelines, rep.Relationships, rep.DuplicateCustomers, rep.Emails, rep.DuplicateEmails, rep.CutByKill,
		rep.Answers.Retries, rep.Answers.LostConn, rep.Answers.Unavailable, rep.Answers.Hung, rep.Answers.ServerErrors))
	return rep
}

// countEmails counts the e-mails received since `since`, one per recipient
// and subject (every customer has its own address and company name, and
// the partners' notices name the customer in their subjects), and those
// delivered more than once: cut are the ones the SIGKILL at killedAt
// explains (two copies, the first within 3 s before it, up to 1 s after),
// dups the others.
func countEmails(msgs []mailtest.Message, since, killedAt time.Time) (logical, dups, cut int, examples []string) {
	copies := map[string][]time.Time{}
	for _, m := range msgs {
		if m.ReceivedAt.Before(since) {
			continue // the embedded run's
		}
		to := append([]string(nil), m.To...)
		sort.Strings(to)
		key := strings.Join(to, ",") + " | " + m.Subject
		copies[key] = append(copies[key], m.ReceivedAt)
	}
	keys := make([]string, 0, len(copies))
	for k := range copies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		received := copies[k]
		if len(received) < 2 {
			continue
		}
		sort.Slice(received, func(i, j int) bool { return received[i].Before(received[j]) })
		if len(received) == 2 && !killedAt.IsZero() && !received[0].Before(killedAt.Add(-3*time.Second)) && !received[0].After(killedAt.Add(time.Second)) {
			cut++
			progress(fmt.Sprintf("  e-mail %q delivered twice, its first copy %.2f s before the SIGKILL: the allowed case", k, killedAt.Sub(received[0]).Seconds()))
			continue
		}
		dups++
		if len(examples) < 10 {
			examples = append(examples, fmt.Sprintf("%s × %d, first at %s", k, len(received), received[0].Format(time.RFC3339Nano)))
		}
	}
	return len(copies), dups, cut, examples
}
