package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/bench/historycount"
)

// floorShape is one engine floor the bench runs.
type floorShape struct {
	name, title string
	workflow    any
}

var (
	sameShape         = floorShape{"same-shape", "same shape as an invitation, no-op activities", FloorInvitation}
	minimalShape      = floorShape{"minimal", "minimal shape: activity, update, activity", FloorMinimal}
	minimalLocalShape = floorShape{"minimal-local", "minimal shape with local activities", FloorMinimalLocal}
)

// costSample is how many completed executions of each shape have their
// histories read: enough for a stable mean, few enough to stay quick.
const costSample = 20

// sampleIDs collects workflow ids from concurrent round trips.
type sampleIDs struct {
	mu  sync.Mutex
	ids []string
}

func (s *sampleIDs) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, id)
}

func (s *sampleIDs) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// costOf reads the histories of up to costSample executions (children
// included) and records their mean cost under name; the same-shape floor,
// run twice, is read once.
func (r *Report) costOf(ctx context.Context, c client.Client, name string, ids []string) {
	if _, done := r.Cost[name]; done || len(ids) == 0 {
		return
	}
	var sum historycount.Counts
	n := 0
	for _, id := range ids[:min(len(ids), costSample)] {
		counts, err := historycount.Tree(ctx, c, id, "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "  history not read:", err)
			continue
		}
		sum.Add(counts)
		n++
	}
	if r.Cost == nil {
		r.Cost = map[string]historycount.MeanCounts{}
	}
	m := historycount.Mean(sum, n)
	r.Cost[name] = m
	progress(fmt.Sprintf("  cost of one %s: %.1f events, %.1f workflow tasks, %.1f activities, %.1f local activities, ~%.1f billable actions (mean of %d)",
		name, m.Events, m.WorkflowTasks, m.Activities, m.LocalActivities, m.BillableActions, n))
}

// slowest keeps the longest of concurrent round trips.
type slowest struct {
	mu   sync.Mutex
	id   string
	took time.Duration
}

func (s *slowest) note(id string, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if took > s.took {
		s.id, s.took = id, took
	}
}

func (s *slowest) get() (string, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id, s.took
}

// historyGaps lists where an execution waited: each event that came more
// than 50 ms after the one before it, with the wait. It is the profile of a
// slow onboarding that a CPU profile cannot give (time spent queued, not
// computing).
func historyGaps(ctx context.Context, c client.Client, workflowID string) string {
	iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var gaps []string
	var previous time.Time
	var previousType string
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return "history not read: " + err.Error()
		}
		at, name := e.GetEventTime().AsTime(), strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")
		if !previous.IsZero() && at.Sub(previous) > 50*time.Millisecond {
			gaps = append(gaps, fmt.Sprintf("%s → %s %.2f s", strings.ToLower(previousType), strings.ToLower(name), at.Sub(previous).Seconds()))
		}
		previous, previousType = at, name
	}
	if len(gaps) == 0 {
		return "no gap over 50 ms between its history events"
	}
	return strings.Join(gaps, "; ")
}
