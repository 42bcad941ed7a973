package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Targets from the product's quality bars: goals to compare with, not assertions.
const (
	targetRatio        = 0.8
	targetCreateP99ms  = 50.0
	targetAcceptP99ms  = 100.0
	targetPendingRSSMB = 1024.0
	// Issue 17: ours ≥ 0.6 × the minimal shape; one invitation, child
	// included, ≤ 30 events and ≤ 4 workflow tasks.
	targetMinimalRatio  = 0.6
	targetEvents        = 30.0
	targetWorkflowTasks = 4.0
)

func write(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := r.StartedAt.Format("20060102-150405")
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"bench-" + stamp + ".json": raw,
		"bench-" + stamp + ".md":   []byte(markdown(r)),
		"bench-" + stamp + ".svg":  []byte(chart(r)),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return err
		}
	}
	fmt.Println(markdown(r))
	progress("Report written to " + filepath.Join(dir, "bench-"+stamp+".{md,json,svg}"))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func markdown(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark %s\n\n", r.StartedAt.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %s. App database: %s. Temporal: embedded, SQLite file.\n\n", r.Machine, r.Database)
	pace := "each customer going on as soon as its last step was answered (closed loop: the run finds the saturation point)"
	if r.Rate > 0 {
		pace = fmt.Sprintf("started at %.0f a second (open loop: latencies below saturation)", r.Rate)
	}
	fmt.Fprintf(&b, "%d invitations at up to %d concurrent customers, %s; %d errors.\n\n", r.Invitations, r.Concurrency, pace, r.Errors)
	b.WriteString("| measure | value | target |\n| --- | --- | --- |\n")
	fmt.Fprintf(&b, "| end-to-end throughput (create → SMTP e-mail → accept → relationship) | %.1f /s | |\n", r.EndToEndPerSecond)
	fmt.Fprintf(&b, "| engine floor (same shape, no-op activities; mean of before %.1f and after %.1f) | %.1f /s | |\n", r.FloorBefore, r.FloorAfter, r.FloorPerSecond)
	fmt.Fprintf(&b, "| ours / floor | %.2f | ≥ %.1f (%s) |\n", r.RatioToFloor, targetRatio, verdict(r.RatioToFloor >= targetRatio))
	if r.MinimalFloorPerSecond > 0 {
		fmt.Fprintf(&b, "| minimal-shape floor (activity → accept update → activity) | %.1f /s | |\n", r.MinimalFloorPerSecond)
		fmt.Fprintf(&b, "| …with local activities | %.1f /s | |\n", r.MinimalLocalFloorPerSecond)
		fmt.Fprintf(&b, "| ours / minimal-shape floor | %.2f | ≥ %.1f (%s) |\n", r.RatioToMinimal, targetMinimalRatio, verdict(r.RatioToMinimal >= targetMinimalRatio))
	}
	c, a, e := r.Latency["post_invitations"], r.Latency["accept"], r.Latency["create_to_completed"]
	fmt.Fprintf(&b, "| POST /v1/invitations p50 / p95 / p99 | %.1f / %.1f / %.1f ms | p99 ≤ %.0f ms (%s) |\n", c.P50, c.P95, c.P99, targetCreateP99ms, verdict(c.P99 <= targetCreateP99ms))
	fmt.Fprintf(&b, "| accept POST p50 / p95 / p99 | %.1f / %.1f / %.1f ms | p99 ≤ %.0f ms (%s) |\n", a.P50, a.P95, a.P99, targetAcceptP99ms, verdict(a.P99 <= targetAcceptP99ms))
	fmt.Fprintf(&b, "| create → completed p50 / p95 / p99 | %.0f / %.0f / %.0f ms | |\n", e.P50, e.P95, e.P99)
	fmt.Fprintf(&b, "| peak RSS of the process | %.0f MiB | |\n", r.PeakRSSMiB)
	fmt.Fprintf(&b, "| CPU seconds of the process | %.1f s | |\n", r.CPUSeconds)
	if p := r.Pending; p != nil {
		fmt.Fprintf(&b, "| %d waiting invitations: started in | %.0f s | |\n", p.Invitations, p.StartSeconds)
		fmt.Fprintf(&b, "| …RSS with them waiting | %.0f MiB | ≤ %.0f MiB at 100,000 (%s here) |\n", p.RSSMiB, targetPendingRSSMB, verdict(p.RSSMiB <= targetPendingRSSMB))
		if p.AppDatabaseMiB >= 0 {
			fmt.Fprintf(&b, "| …app database size | %.1f MiB | |\n", p.AppDatabaseMiB)
		}
		fmt.Fprintf(&b, "| …Temporal database size | %.1f MiB | |\n", p.TemporalDataMiB)
	}
	if w := r.Webhooks; w != nil {
		fmt.Fprintf(&b, "| webhooks: %d endpoints, %d of %d deliveries (%d duplicates) | %.1f /s | |\n", w.Endpoints, w.Delivered, w.Expected, w.Duplicates, w.PerSecond)
		fmt.Fprintf(&b, "| …event → delivery p50 / p95 / p99 | %.0f / %.0f / %.0f ms | |\n", w.EventToDelivery.P50, w.EventToDelivery.P95, w.EventToDelivery.P99)
	}
	b.WriteString(kindTable(r))
	b.WriteString(costTable(r))
	if cl := r.Cluster; cl != nil {
		fmt.Fprintf(&b, "\n## The same load on the production topology\n\n%s, on the same machine.\n\n", cl.Topology)
		b.WriteString("| measure | embedded default | cluster | cluster / embedded |\n| --- | --- | --- | --- |\n")
		fmt.Fprintf(&b, "| end-to-end throughput | %.1f /s | %.1f /s | %.2f |\n", r.EndToEndPerSecond, cl.EndToEndPerSecond, cl.RatioToEmbedded)
		for _, k := range []struct{ key, label string }{{"post_invitations", "POST /v1/invitations p99"}, {"accept", "accept p99"}, {"create_to_completed", "create → completed p99"}} {
			e, c := r.Latency[k.key], cl.Latency[k.key]
			ratio := 0.0
			if e.P99 > 0 {
				ratio = c.P99 / e.P99
			}
			fmt.Fprintf(&b, "| %s | %.1f ms | %.1f ms | %.2f |\n", k.label, e.P99, c.P99, ratio)
		}
		fmt.Fprintf(&b, "| errors | %d | %d | |\n", r.Errors, cl.Errors)
		if cr := cl.Crash; cr != nil {
			b.WriteString(crashSection(cr))
		}
	}
	return b.String()
}

// kindTable gives each onboarding kind driven end to end: its rate, its
// latencies (create, the answer that moves it on, create → completed) and
// its engine work, read from its histories.
func kindTable(r *Report) string {
	if r.Extensions == nil && r.TenantRequests == nil {
		return ""
	}
	type kind struct {
		name, answer string
		rep          KindReport
		create, ans  string // latency keys
	}
	kinds := []kind{{"invitation", "accept", KindReport{Driven: r.Invitations, Completed: r.Invitations - int(r.Errors), Errors: r.Errors,
		Concurrency: r.Concurrency, PerSecond: r.EndToEndPerSecond}, "post_invitations", "accept"}}
	if x := r.Extensions; x != nil {
		kinds = append(kinds, kind{"extension", "consent", *x, "extension_create", "extension_consent"})
	}
	if t := r.TenantRequests; t != nil {
		kinds = append(kinds, kind{"tenant_request", "approve", *t, "tenant_request_create", "tenant_request_approve"})
	}
	var b strings.Builder
	b.WriteString("\n## Per onboarding kind, end to end through the HTTP API\n\n")
	b.WriteString("Invitation: create → e-mail → accept on the link → relationship. Extension: create (direct-bill customer) → consent e-mail → consent on the link → bill-to share and relationship. ")
	b.WriteString("Tenant request: create → provider's e-mail → provider approves through the API → customer and relationship. Engine work per onboarding, child workflows included.\n\n")
	b.WriteString("| kind | completed / driven | errors | throughput | create p50 / p99 | answer p50 / p99 | create → completed p50 / p99 | events | workflow tasks | activities | local activities | timers | billable actions (estimate) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, k := range kinds {
		c, a, e := r.Latency[k.create], r.Latency[k.ans], r.Latency[k.name+"_create_to_completed"]
		if k.name == "invitation" {
			e = r.Latency["create_to_completed"]
		}
		cost := "| – | – | – | – | – | –"
		if m, ok := r.Cost[k.name]; ok {
			cost = fmt.Sprintf("| %.1f | %.1f | %.1f | %.1f | %.1f | %.1f", m.Events, m.WorkflowTasks, m.Activities, m.LocalActivities, m.Timers, m.BillableActions)
		}
		fmt.Fprintf(&b, "| %s | %d / %d | %d | %.1f /s | %.1f / %.1f ms | %s %.1f / %.1f ms | %.0f / %.0f ms %s |\n", k.name, k.rep.Completed, k.rep.Driven, k.rep.Errors, k.rep.PerSecond,
			c.P50, c.P99, k.answer, a.P50, a.P99, e.P50, e.P99, cost)
	}
	return b.String()
}

// crashSection is what -crash found on the cluster.
func crashSection(c *CrashReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Crash: kill -9 of %s during the load\n\n", strings.Join(c.Killed, " and "))
	b.WriteString("The cluster's figures above include it. The load client retried as a careful partner's script would (a lost connection, a timeout, 502/503/504), each create under its own Idempotency-Key.\n\n")
	verdictOf := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "**FAILED**"
	}
	b.WriteString("| check | value | |\n| --- | --- | --- |\n")
	if !c.KilledAt.IsZero() {
		fmt.Fprintf(&b, "| killed once %d of %d invitations were created; both ready again after | %.1f s | %s |\n", c.AtCreated, c.Invitations, c.RestartSeconds, verdictOf(c.FaultError == ""))
	} else {
		fmt.Fprintf(&b, "| the kill | not done: %s | **FAILED** |\n", c.FaultError)
	}
	fmt.Fprintf(&b, "| invitations completed with a relationship (GET each) | %d of %d | %s |\n", c.Completed, c.Invitations, verdictOf(c.NotCompleted == 0))
	if len(c.NotCompletedExamples) > 0 {
		fmt.Fprintf(&b, "| …not completed | %s | |\n", strings.Join(c.NotCompletedExamples, ", "))
	}
	fmt.Fprintf(&b, "| …with a step twice in their timeline | %d | %s |\n", c.DoubledTimelines, verdictOf(c.DoubledTimelines == 0))
	fmt.Fprintf(&b, "| the reseller's relationships (GET /v1/relationships) | %d | %s |\n", c.Relationships, verdictOf(c.Relationships == c.Completed && c.UnlistedRelationships == 0))
	fmt.Fprintf(&b, "| customers / invitations with more than one relationship | %d / %d | %s |\n", c.DuplicateCustomers, c.DuplicateInvitations, verdictOf(c.DuplicateCustomers == 0 && c.DuplicateInvitations == 0))
	fmt.Fprintf(&b, "| e-mails (recipient and subject) during the load | %d | |\n", c.Emails)
	fmt.Fprintf(&b, "| …delivered twice, no SIGKILL to explain it | %d | %s |\n", c.DuplicateEmails, verdictOf(c.DuplicateEmails == 0))
	fmt.Fprintf(&b, "| …delivered twice, first copy ≤ 3 s before the worker's SIGKILL (the relay had it, the outbox not yet: allowed) | %d | |\n", c.CutByKill)
	a := c.Answers
	fmt.Fprintf(&b, "| client retries: lost connections / 502-503-504 / timeouts | %d: %d / %d / %d | |\n", a.Retries, a.LostConn, a.Unavailable, a.Hung)
	fmt.Fprintf(&b, "| other 5xx answers | %d | %s |\n", a.ServerErrors, verdictOf(a.ServerErrors == 0))
	if c.CheckError != "" {
		fmt.Fprintf(&b, "| the check itself | %s | **FAILED** |\n", c.CheckError)
	}
	if c.Slowest != "" {
		fmt.Fprintf(&b, "\nSlowest invitation, its timeline with the time between steps: %s\n", c.Slowest)
	}
	for _, d := range c.DuplicateExamples {
		fmt.Fprintf(&b, "\nDuplicate: %s\n", d)
	}
	return b.String()
}

// costTable is the engine work per onboarding, read from the run's histories.
func costTable(r *Report) string {
	if len(r.Cost) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Engine work per onboarding (mean over the run's histories, child workflows included)\n\n")
	b.WriteString("| shape | sampled | executions | events | workflow tasks | activities | local activities | markers | children | timers | search-attribute upserts | updates | signals | billable actions (estimate) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, name := range []string{"invitation", "extension", "tenant_request", sameShape.name, minimalShape.name, minimalLocalShape.name} {
		c, ok := r.Cost[name]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", name, c.N, c.Executions, c.Events, c.WorkflowTasks,
			c.Activities, c.LocalActivities, c.Markers, c.Children, c.Timers, c.Upserts, c.Updates, c.Signals, c.BillableActions)
	}
	if inv, ok := r.Cost["invitation"]; ok {
		fmt.Fprintf(&b, "\nTargets for one invitation: ≤ %.0f events (%s), ≤ %.0f workflow tasks (%s). ", targetEvents, verdict(inv.Events <= targetEvents),
			targetWorkflowTasks, verdict(inv.WorkflowTasks <= targetWorkflowTasks))
	}
	b.WriteString("Billable actions follow https://docs.temporal.io/cloud/actions (bench/historycount).\n")
	if r.SlowestInvitation != "" {
		fmt.Fprintf(&b, "\nThe slowest invitation, where it waited (history gaps over 50 ms): %s\n", r.SlowestInvitation)
	}
	if r.SlowestAccept != "" {
		fmt.Fprintf(&b, "\nThe slowest accept, where its invitation waited: %s\n", r.SlowestAccept)
	}
	return b.String()
}

// chart draws throughput and latency bars as a small SVG.
func chart(r *Report) string {
	type bar struct {
		label string
		value float64
		unit  string
	}
	groups := []struct {
		title string
		bars  []bar
	}{
		{"Throughput (per second)", []bar{{"ours", r.EndToEndPerSecond, "/s"}, {"floor", r.FloorPerSecond, "/s"}}},
		{"p99 latency (ms)", []bar{{"create", r.Latency["post_invitations"].P99, "ms"}, {"accept", r.Latency["accept"].P99, "ms"}}},
	}
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="640" height="260" font-family="sans-serif" font-size="12">`)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>`)
	for gi, g := range groups {
		x0 := 20 + gi*320
		max := 0.0
		for _, v := range g.bars {
			if v.value > max {
				max = v.value
			}
		}
		if max == 0 {
			max = 1
		}
		fmt.Fprintf(&b, `<text x="%d" y="20" font-weight="bold">%s</text>`, x0, g.title)
		for i, v := range g.bars {
			h := 180 * v.value / max
			x := x0 + 20 + i*120
			fmt.Fprintf(&b, `<rect x="%d" y="%.0f" width="80" height="%.0f" fill="%s"/>`, x, 220-h, h, []string{"#0b5394", "#8a9bb0"}[i%2])
			fmt.Fprintf(&b, `<text x="%d" y="%.0f">%.1f %s</text>`, x, 215-h, v.value, v.unit)
			fmt.Fprintf(&b, `<text x="%d" y="240">%s</text>`, x, v.label)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}
