package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// saveHistory writes a finished workflow's history for the replay tests in
// workflows/testdata, when ONBOARDING_SAVE_HISTORIES is set. Run it when a
// workflow changes on purpose, and keep the old files: old histories must
// keep replaying.
func saveHistory(t *testing.T, c client.Client, workflowID, file string) {
	t.Helper()
	path := filepath.Join("..", "workflows", "testdata", file)
	if os.Getenv("ONBOARDING_SAVE_HISTORIES") == "" {
		return
	}
	if _, err := os.Stat(path); err == nil {
		return // an old history stays as it was recorded
	}
	iter := c.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
	var h historypb.History
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", path)
}
