package models

import (
	"slices"
	"testing"
)

// TestLifecycleRegistry checks that each entry of the registry is whole:
// unique kinds, tables and workflow-ID prefixes, final and waiting statuses
// among the kind's statuses. The spec (api TestStatusEnumsAreTheRegistry)
// and the database (store TestStatusConstraints) are held to it elsewhere.
func TestLifecycleRegistry(t *testing.T) {
	seen := map[string]string{}
	for _, l := range Lifecycles {
		for _, key := range []string{"kind " + l.Kind, "table " + l.Table, "prefix " + l.WorkflowIDPrefix, "schema " + l.SpecStatus} {
			if other, dup := seen[key]; dup {
				t.Errorf("%s of %s is %s's too", key, l.Kind, other)
			}
			seen[key] = l.Kind
		}
		if l.Kind == "" || l.Table == "" || l.WorkflowIDPrefix == "" || l.SpecStatus == "" || len(l.Statuses) == 0 {
			t.Errorf("%+v is incomplete", l)
		}
		for _, s := range l.Final {
			if !l.Has(s) {
				t.Errorf("%s: final status %q is not one of its statuses", l.Kind, s)
			}
		}
		if l.Waiting != "" && (!l.Has(l.Waiting) || l.IsFinal(l.Waiting)) {
			t.Errorf("%s: waiting status %q must be a status that is not final", l.Kind, l.Waiting)
		}
		if got, ok := LifecycleOf(l.Kind); !ok || got.Kind != l.Kind {
			t.Errorf("LifecycleOf(%q) = %v, %v", l.Kind, got.Kind, ok)
		}
		if got := l.WorkflowID("x"); got != l.WorkflowIDPrefix+":x" {
			t.Errorf("%s: workflow ID %q", l.Kind, got)
		}
	}
	if want := []string{KindPartnership, KindEnrollment, KindInvitation, KindExtension, KindTenantRequest, KindDelegatedAdmin}; !slices.Equal(WaitingKinds(), want) {
		t.Errorf("WaitingKinds() = %v, want %v", WaitingKinds(), want)
	}
}
