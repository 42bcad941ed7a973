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
	fmt.Fprintf(&b, "%d invitations at %d concurrent customers; %d errors.\n\n", r.Invitations, r.Concurrency, r.Errors)
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
	for _, name := range []string{"invitation", sameShape.name, minimalShape.name, minimalLocalShape.name} {
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
