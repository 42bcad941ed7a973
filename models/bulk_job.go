package models

import "time"

// Bulk job kinds: what each row of a job starts.
const (
	BulkKindExtension  = "relationship_extension"
	BulkKindInvitation = "invitation"
)

// Bulk job statuses.
const (
	BulkJobRunning   = "running"
	BulkJobPaused    = "paused"
	BulkJobCancelled = "cancelled"
	BulkJobCompleted = "completed"
)

// What a job did with a row (bulk_job_rows.state). A started row's outcome
// is its onboarding's status.
const (
	BulkRowPending = "pending"
	BulkRowStarted = "started"
	BulkRowRefused = "refused"
	BulkRowSkipped = "skipped"
)

// MaxBulkRows is the most rows one job takes.
const MaxBulkRows = 10000

// BulkOptions are the fields every row's onboarding shares.
type BulkOptions struct {
	Locale         string                 `json:"locale,omitempty"`
	Message        string                 `json:"message,omitempty"`
	ConsentMethod  string                 `json:"consent_method,omitempty"`
	DelegatedAdmin *DelegatedAdminRequest `json:"delegated_admin,omitempty"`
	// The partners' tenants and Microsoft's acceptance link, in
	// MICROSOFT_MODE live or simulated (each row waits for Microsoft).
	ResellerTenantID   string `json:"reseller_tenant_id,omitempty"`
	ProviderTenantID   string `json:"provider_tenant_id,omitempty"`
	MicrosoftAcceptURL string `json:"microsoft_accept_url,omitempty"`
}

// BulkJob is one reseller's job over many customers.
type BulkJob struct {
	ID         string      `gorm:"primaryKey"`
	ResellerID string      ``
	ProviderID string      ``
	Kind       string      ``
	Status     string      ``
	Options    BulkOptions `gorm:"serializer:json"`
	Total      int         ``
	WorkflowID string      ``
	CreatedAt  time.Time   ``
	UpdatedAt  time.Time   ``
	FinishedAt *time.Time  ``
}

// BulkJobRow is one row of a job, numbered from 1 in file order.
type BulkJobRow struct {
	JobID       string `gorm:"primaryKey"`
	RowNo       int    `gorm:"primaryKey"`
	ProviderID  string
	CustomerID  string
	CompanyName string
	Email       string
	State       string
	Code        string
	Reason      string
	SubjectID   string // the row's extension or invitation, once started
	Adopted     bool   // the onboarding existed already and was taken over, not started
	StartedAt   *time.Time
}
