// Package historycount reads what one workflow execution cost the engine
// from its event history: events, activities, workflow tasks, timers,
// children, search-attribute upserts, and an estimate of Temporal Cloud
// billable actions, following child workflows so that one onboarding is
// counted whole.
package historycount

import (
	"context"
	"fmt"
	"reflect"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// Counts is the engine work of one execution (and its children when
// fetched with Tree).
type Counts struct {
	Executions      int `json:"executions"` // the execution and its children
	Events          int `json:"events"`
	WorkflowTasks   int `json:"workflow_tasks"` // completed workflow tasks: round trips to the worker
	Activities      int `json:"activities"`
	ActivityRetries int `json:"activity_retries"` // attempts after the first
	LocalActivities int `json:"local_activities"`
	Markers         int `json:"markers"` // local activity, side effect and version markers
	Children        int `json:"child_workflows"`
	Timers          int `json:"timers"`
	Upserts         int `json:"search_attribute_upserts"`
	Updates         int `json:"updates"`
	Signals         int `json:"signals"`
	// BillableActions estimates Temporal Cloud actions as
	// https://docs.temporal.io/cloud/actions lists them (see Count).
	BillableActions int `json:"billable_actions_estimate"`
}

// Add sums another execution's counts into c.
func (c *Counts) Add(o Counts) {
	cv, ov := reflect.ValueOf(c).Elem(), reflect.ValueOf(o)
	for i := range cv.NumField() {
		cv.Field(i).SetInt(cv.Field(i).Int() + ov.Field(i).Int())
	}
}

// MeanCounts is Counts averaged over N sampled onboardings: its fields
// after N are Counts' fields, in the same order.
type MeanCounts struct {
	N               int     `json:"sampled"`
	Executions      float64 `json:"executions"`
	Events          float64 `json:"events"`
	WorkflowTasks   float64 `json:"workflow_tasks"`
	Activities      float64 `json:"activities"`
	ActivityRetries float64 `json:"activity_retries"`
	LocalActivities float64 `json:"local_activities"`
	Markers         float64 `json:"markers"`
	Children        float64 `json:"child_workflows"`
	Timers          float64 `json:"timers"`
	Upserts         float64 `json:"search_attribute_upserts"`
	Updates         float64 `json:"updates"`
	Signals         float64 `json:"signals"`
	BillableActions float64 `json:"billable_actions_estimate"`
}

// Mean is the mean per onboarding of a sum over n onboardings.
func Mean(sum Counts, n int) MeanCounts {
	m := MeanCounts{N: n}
	if n == 0 {
		return m
	}
	mv, sv := reflect.ValueOf(&m).Elem(), reflect.ValueOf(sum)
	for i := range sv.NumField() {
		mv.Field(i + 1).SetFloat(float64(sv.Field(i).Int()) / float64(n))
	}
	return m
}

// Count reads one execution's history. The billable estimate follows the
// actions page: a top-level start 1 (a child's start is billed to its
// parent: 2 for StartChildWorkflowExecutionInitiated); each activity
// attempt 1; all markers of one workflow task 1 (that is how local
// activities are billed); each timer, signal and accepted update 1; each
// search-attribute upsert 1 unless it only sets TemporalChangeVersion.
func Count(events []*historypb.HistoryEvent) Counts {
	c := Counts{Executions: 1, Events: len(events)}
	markersInTask := false
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a := e.GetWorkflowExecutionStartedEventAttributes()
			if a.GetParentWorkflowExecution() == nil || a.GetContinuedExecutionRunId() != "" {
				c.BillableActions++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			c.WorkflowTasks++
			markersInTask = false
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			c.Activities++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			attempts := max(int(e.GetActivityTaskStartedEventAttributes().GetAttempt()), 1)
			c.ActivityRetries += attempts - 1
			c.BillableActions += attempts
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			c.Markers++
			if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
				c.LocalActivities++
			}
			if !markersInTask {
				c.BillableActions++
				markersInTask = true
			}
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			c.Children++
			c.BillableActions += 2
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			c.Timers++
			c.BillableActions++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			c.Upserts++
			fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, versionOnly := fields["TemporalChangeVersion"]; !versionOnly || len(fields) > 1 {
				c.BillableActions++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			c.Updates++
			c.BillableActions++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			c.Signals++
			c.BillableActions++
		}
	}
	return c
}

// Tree counts an execution and, recursively, the children it started.
func Tree(ctx context.Context, c client.Client, workflowID, runID string) (Counts, error) {
	events, err := history(ctx, c, workflowID, runID)
	if err != nil {
		return Counts{}, err
	}
	total := Count(events)
	for _, e := range events {
		if e.GetEventType() != enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED {
			continue
		}
		child := e.GetChildWorkflowExecutionStartedEventAttributes().GetWorkflowExecution()
		sub, err := Tree(ctx, c, child.GetWorkflowId(), child.GetRunId())
		if err != nil {
			return total, err
		}
		total.Add(sub)
	}
	return total, nil
}

func history(ctx context.Context, c client.Client, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		events = append(events, e)
	}
	return events, nil
}
