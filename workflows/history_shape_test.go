package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestLeanHistoriesKeepTheirGuarantees holds the lean shape's real histories
// to two rules. That of mintStepIDs: in no workflow task does a local
// activity come after a SideEffect. A local activity runs before
// its task's markers are in history; if that task failed and ran again, a
// SideEffect before it would mint other ids and the write would happen twice
// (TestClusterFaults once found a second relationship that way). And no
// history cancels another workflow: the delegated admin lifecycle started by
// the relationship step outlives its onboarding.
func TestLeanHistoriesKeepTheirGuarantees(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*-lean-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no lean histories in testdata: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Events []struct {
				EventID string `json:"eventId"`
				Type    string `json:"eventType"`
				Marker  *struct {
					Name string `json:"markerName"`
				} `json:"markerRecordedEventAttributes"`
			} `json:"events"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		sideEffect := ""
		for _, e := range h.Events {
			switch {
			case e.Type == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED":
				sideEffect = "" // a new task's commands begin
			case e.Marker != nil && e.Marker.Name == "SideEffect":
				sideEffect = e.EventID
			case e.Marker != nil && e.Marker.Name == "LocalActivity" && sideEffect != "":
				t.Errorf("%s: local activity (event %s) after a SideEffect (event %s) in the same workflow task", file, e.EventID, sideEffect)
			case e.Type == "EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED":
				// The delegated admin lifecycle outlives its onboarding; a
				// first lean version cancelled it with the relationship
				// step's context.
				t.Errorf("%s: event %s cancels another workflow", file, e.EventID)
			}
		}
	}
}
