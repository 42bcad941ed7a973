package historycount_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/bench/historycount"
)

// The counts of real saved histories agree with a plain tally of their
// event types.
func TestCountsOfSavedHistories(t *testing.T) {
	files, err := filepath.Glob("../../workflows/testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var plain struct {
			Events []struct{ EventType string } `json:"events"`
		}
		require.NoError(t, json.Unmarshal(raw, &plain))
		tally := map[string]int{}
		for _, e := range plain.Events {
			tally[e.EventType]++
		}
		h, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
		require.NoError(t, err, file)
		c := historycount.Count(h.Events)
		require.Equal(t, len(plain.Events), c.Events, file)
		require.Equal(t, tally["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"], c.WorkflowTasks, file)
		require.Equal(t, tally["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"], c.Activities, file)
		require.Equal(t, tally["EVENT_TYPE_MARKER_RECORDED"], c.Markers, file)
		require.Equal(t, tally["EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED"], c.Children, file)
		require.Equal(t, tally["EVENT_TYPE_TIMER_STARTED"], c.Timers, file)
		require.Equal(t, tally["EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"], c.Upserts, file)
		require.Equal(t, tally["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"], c.Updates, file)
		require.LessOrEqual(t, c.LocalActivities, c.Markers)
		require.Positive(t, c.BillableActions, file)
	}
}

func event(t enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: t} }

// The billable estimate applies the rules of the actions page.
func TestBillableActionRules(t *testing.T) {
	marker := func(name string) *historypb.HistoryEvent {
		e := event(enumspb.EVENT_TYPE_MARKER_RECORDED)
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: name}}
		return e
	}
	started := func(attempt int32) *historypb.HistoryEvent {
		e := event(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: attempt}}
		return e
	}
	upsert := func(names ...string) *historypb.HistoryEvent {
		fields := map[string]*commonpb.Payload{}
		for _, n := range names {
			fields[n] = &commonpb.Payload{}
		}
		e := event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
		e.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields}}}
		return e
	}
	childStart := event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
	childStart.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
		ParentWorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "parent"}}}

	parent := historycount.Count([]*historypb.HistoryEvent{
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		marker("LocalActivity"), marker("LocalActivity"), marker("Version"), // one workflow task's markers: 1
		event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), started(3), // three attempts: 3
		upsert("TemporalChangeVersion"),              // versioning only: 0
		upsert("OnboardingStatus", "OnboardingStep"), // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		marker("LocalActivity"),                                            // another task: 1
		event(enumspb.EVENT_TYPE_TIMER_STARTED),                            // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),       // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),              // 1
		event(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), // 2
	})
	require.Equal(t, 1+1+3+0+1+1+1+1+1+2, parent.BillableActions)
	require.Equal(t, 3, parent.LocalActivities)
	require.Equal(t, 4, parent.Markers)
	require.Equal(t, 2, parent.ActivityRetries)
	require.Equal(t, 2, parent.WorkflowTasks)

	child := historycount.Count([]*historypb.HistoryEvent{childStart, event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)})
	require.Equal(t, 0, child.BillableActions, "a child's start is billed to the parent")
	parent.Add(child)
	require.Equal(t, 2, parent.Executions)
	mean := historycount.Mean(parent, 2)
	require.Equal(t, 2, mean.N)
	require.InDelta(t, float64(parent.Events)/2, mean.Events, 1e-9)
	require.InDelta(t, float64(parent.BillableActions)/2, mean.BillableActions, 1e-9)
	require.InDelta(t, 1.0, mean.Executions, 1e-9)
}

// MeanCounts mirrors Counts field for field (Mean copies by position).
func TestMeanCountsMirrorsCounts(t *testing.T) {
	ct, mt := reflect.TypeOf(historycount.Counts{}), reflect.TypeOf(historycount.MeanCounts{})
	require.Equal(t, ct.NumField()+1, mt.NumField())
	for i := range ct.NumField() {
		require.Equal(t, ct.Field(i).Name, mt.Field(i+1).Name)
		require.Equal(t, ct.Field(i).Tag, mt.Field(i+1).Tag)
	}
}
