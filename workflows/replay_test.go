package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplaySavedHistories replays real histories recorded by the end-to-end
// tests (workflows/testdata). A change to workflow code that would break a
// running onboarding fails here; guard such changes with workflow.GetVersion.
func TestReplaySavedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no saved histories in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(PartnershipWorkflow)
			r.RegisterWorkflow(InvitationWorkflow)
			r.RegisterWorkflow(RelationshipWorkflow)
			r.RegisterWorkflow(ExtensionWorkflow)
			r.RegisterWorkflow(EnrollmentWorkflow)
			r.RegisterWorkflow(TenantRequestWorkflow)
			r.RegisterWorkflow(DelegatedAdminWorkflow)
			r.RegisterWorkflow(WebhookEndpointWorkflow)
			r.RegisterWorkflow(BulkJobWorkflow)
			r.RegisterWorkflow(GDAPWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				raw, _ := os.ReadFile(file)
				t.Fatalf("replay %s (%d bytes): %v", file, len(raw), err)
			}
		})
	}
}
