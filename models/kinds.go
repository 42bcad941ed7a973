package models

import "slices"

// The lifecycle registry: every onboarding kind, once. Its name (the
// OnboardingKind search attribute, the timeline's and the metrics' kind), its
// workflow ID, its table and its statuses are read from here by the
// workflows, the activities, the API, the store and the metrics.
// TestLifecycleRegistry (models/kinds_test.go) and the store's
// TestStatusConstraints hold api/openapi.yaml and the database's status
// constraints to it. Adding a status: its constant below, the kind's
// Statuses (and Final if it ends the onboarding), the spec's status schema,
// and a migration that replaces the table's status constraint.

// Onboarding kinds.
const (
	KindPartnership    = "partnership"
	KindEnrollment     = "enrollment"
	KindInvitation     = "invitation"
	KindExtension      = "extension"
	KindTenantRequest  = "tenant_request"
	KindRelationship   = "relationship"
	KindDelegatedAdmin = "delegated_admin"
	KindBulkJob        = "bulk_job"
)

// TenantRequestApproved: the provider created the tenant; the relationship
// is being set up.
const TenantRequestApproved = "approved"

// Lifecycle is one onboarding kind's entry in the registry.
type Lifecycle struct {
	Kind string
	// WorkflowIDPrefix starts the kind's deterministic workflow ID, "<prefix>:<id>".
	WorkflowIDPrefix string
	// Table holds one row per onboarding, its status in column status.
	Table string
	// Statuses are every status the row can have, in the spec's order.
	Statuses []string
	// Final are the statuses after which the onboarding waits on nobody.
	Final []string
	// Waiting is the status of an onboarding waiting on someone else (the
	// waiting gauge); empty for kinds that never wait on a party.
	Waiting string
	// SpecStatus names the schema of the status in api/openapi.yaml.
	SpecStatus string
}

// WorkflowID is the deterministic workflow ID of the onboarding id.
func (l Lifecycle) WorkflowID(id string) string { return l.WorkflowIDPrefix + ":" + id }

// IsFinal tells whether status ends the onboarding.
func (l Lifecycle) IsFinal(status string) bool { return slices.Contains(l.Final, status) }

// Has tells whether status is one of the kind's statuses.
func (l Lifecycle) Has(status string) bool { return slices.Contains(l.Statuses, status) }

// The registry, one entry per kind.
var (
	PartnershipLifecycle = Lifecycle{
		Kind: KindPartnership, WorkflowIDPrefix: "partnership", Table: "partnerships", SpecStatus: "PartnershipStatus",
		Statuses: []string{PartnershipInvited, PartnershipActive, PartnershipDeclined, PartnershipExpired, PartnershipRemoved},
		Final:    []string{PartnershipActive, PartnershipDeclined, PartnershipExpired, PartnershipRemoved},
		Waiting:  PartnershipInvited,
	}
	EnrollmentLifecycle = Lifecycle{
		// Keyed by the reseller: one enrollment per partner.
		Kind: KindEnrollment, WorkflowIDPrefix: "enrollment", Table: "enrollments", SpecStatus: "EnrollmentStatus",
		Statuses: []string{EnrollmentSubmitted, EnrollmentApproved, EnrollmentRejected},
		Final:    []string{EnrollmentApproved, EnrollmentRejected},
		Waiting:  EnrollmentSubmitted,
	}
	InvitationLifecycle = Lifecycle{
		Kind: KindInvitation, WorkflowIDPrefix: "invitation", Table: "invitations", SpecStatus: "InvitationStatus",
		Statuses: []string{InvitationWaitingForCustomer, InvitationAccepted, InvitationWaitingForPartnerCenter, InvitationCompleted, InvitationDeclined,
			InvitationExpired, InvitationCancelled, InvitationFailed},
		Final:   []string{InvitationCompleted, InvitationDeclined, InvitationExpired, InvitationCancelled, InvitationFailed},
		Waiting: InvitationWaitingForCustomer,
	}
	ExtensionLifecycle = Lifecycle{
		Kind: KindExtension, WorkflowIDPrefix: "extension", Table: "relationship_extensions", SpecStatus: "ExtensionStatus",
		Statuses: []string{ExtensionWaitingForConsent, ExtensionWaitingForPartnerCenter, ExtensionConsentDeclined, ExtensionExpired, ExtensionCancelled,
			ExtensionCompleted, ExtensionFailed},
		Final:   []string{ExtensionCompleted, ExtensionConsentDeclined, ExtensionExpired, ExtensionCancelled, ExtensionFailed},
		Waiting: ExtensionWaitingForConsent,
	}
	TenantRequestLifecycle = Lifecycle{
		Kind: KindTenantRequest, WorkflowIDPrefix: "tenant-request", Table: "customer_tenant_requests", SpecStatus: "TenantRequestStatus",
		Statuses: []string{TenantRequestWaitingForProvider, TenantRequestApproved, TenantRequestCompleted,
			TenantRequestRejected, TenantRequestExpired, TenantRequestFailed},
		Final:   []string{TenantRequestCompleted, TenantRequestRejected, TenantRequestExpired, TenantRequestFailed},
		Waiting: TenantRequestWaitingForProvider,
	}
	// RelationshipLifecycle is the child workflow that sets up a reseller
	// relationship; its row outlives the workflow.
	RelationshipLifecycle = Lifecycle{
		Kind: KindRelationship, WorkflowIDPrefix: "relationship", Table: "relationships", SpecStatus: "RelationshipStatus",
		Statuses: []string{RelationshipActive, RelationshipTerminated},
		Final:    []string{RelationshipTerminated},
	}
	// DelegatedAdminLifecycle runs as long as the grant. With Microsoft
	// (MICROSOFT_MODE live or simulated) it first waits on the customer's
	// approval at Microsoft; then on its end date, not on a party.
	DelegatedAdminLifecycle = Lifecycle{
		Kind: KindDelegatedAdmin, WorkflowIDPrefix: "delegated-admin", Table: "delegated_admin_relationships", SpecStatus: "DelegatedAdminStatus",
		Statuses: []string{DelegatedAdminApprovalPending, DelegatedAdminActive, DelegatedAdminExpired, DelegatedAdminTerminated, DelegatedAdminFailed},
		Final:    []string{DelegatedAdminExpired, DelegatedAdminTerminated, DelegatedAdminFailed},
		Waiting:  DelegatedAdminApprovalPending,
	}
	// BulkJobLifecycle starts many onboardings; each row's onboarding waits
	// on its customer, the job itself on nobody.
	BulkJobLifecycle = Lifecycle{
		Kind: KindBulkJob, WorkflowIDPrefix: "bulk", Table: "bulk_jobs", SpecStatus: "BulkJobStatus",
		Statuses: []string{BulkJobRunning, BulkJobPaused, BulkJobCancelled, BulkJobCompleted},
		Final:    []string{BulkJobCancelled, BulkJobCompleted},
	}
)

// GDAPWorkflowIDPrefix starts the ID of the workflow that obtains a delegated
// admin relationship's GDAP relationship at Microsoft, "gdap:<delegated admin
// id>": a child of the delegated admin lifecycle, not a kind of its own.
const GDAPWorkflowIDPrefix = "gdap"

// Lifecycles lists the registry in a fixed order.
var Lifecycles = []Lifecycle{
	PartnershipLifecycle, EnrollmentLifecycle, InvitationLifecycle, ExtensionLifecycle,
	TenantRequestLifecycle, RelationshipLifecycle, DelegatedAdminLifecycle, BulkJobLifecycle,
}

// LifecycleOf finds a kind's entry.
func LifecycleOf(kind string) (Lifecycle, bool) {
	for _, l := range Lifecycles {
		if l.Kind == kind {
			return l, true
		}
	}
	return Lifecycle{}, false
}

// WaitingKinds are the kinds that wait on a party, in registry order.
func WaitingKinds() []string {
	var out []string
	for _, l := range Lifecycles {
		if l.Waiting != "" {
			out = append(out, l.Kind)
		}
	}
	return out
}
