package api

import (
	"slices"
	"testing"

	"github.com/csp-onboarding/onboarding/models"
)

// TestStatusEnumsAreTheRegistry holds api/openapi.yaml to the lifecycle
// registry (models/kinds.go): each kind's status schema lists exactly its
// statuses, and each list operation's ?status= filter is that schema, so the
// edge refuses an unknown status.
func TestStatusEnumsAreTheRegistry(t *testing.T) {
	for _, l := range models.Lifecycles {
		ref := spec.Components.Schemas[l.SpecStatus]
		if ref == nil {
			t.Errorf("%s: no schema %s in api/openapi.yaml", l.Kind, l.SpecStatus)
			continue
		}
		var got []string
		for _, v := range ref.Value.Enum {
			got = append(got, v.(string))
		}
		want := l.Statuses
		if l.Kind == models.KindEnrollment {
			// A reseller that never applied has no enrollment row.
			want = append([]string{models.EnrollmentNotEnrolled}, want...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the spec's %s is %v, the registry says %v", l.Kind, l.SpecStatus, got, want)
		}
	}
	filters := map[string]string{
		"listPartnerships":    models.KindPartnership,
		"listInvitations":     models.KindInvitation,
		"listExtensions":      models.KindExtension,
		"listTenantRequests":  models.KindTenantRequest,
		"listRelationships":   models.KindRelationship,
		"listDelegatedAdmins": models.KindDelegatedAdmin,
	}
	found := map[string]bool{}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			kind, ok := filters[op.OperationID]
			if !ok {
				continue
			}
			found[op.OperationID] = true
			l, _ := models.LifecycleOf(kind)
			p := op.Parameters.GetByInAndName("query", "status")
			if p == nil || p.Schema == nil || p.Schema.Ref != "#/components/schemas/"+l.SpecStatus {
				t.Errorf("%s: ?status= is not the schema %s", op.OperationID, l.SpecStatus)
			}
		}
	}
	if len(found) != len(filters) {
		t.Errorf("found %v of the list operations %v", found, filters)
	}
}
