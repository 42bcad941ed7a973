// Package models holds the records this product keeps in its database: the
// system of record for partners, customers, relationships and the trail of
// every onboarding. Tables are created by the versioned SQL in migrations/,
// never by GORM's AutoMigrate.
package models

import "time"

// Partner types.
const (
	PartnerTypeIndirectProvider = "indirect_provider"
	PartnerTypeReseller         = "reseller"
)

// Partnership statuses.
const (
	PartnershipInvited  = "invited"
	PartnershipActive   = "active"
	PartnershipDeclined = "declined"
	PartnershipExpired  = "expired"
	PartnershipRemoved  = "removed"
)

// Invitation statuses; the lifecycle registry (kinds.go) lists them.
const (
	InvitationWaitingForCustomer = "waiting_for_customer"
	InvitationAccepted           = "accepted"
	// InvitationWaitingForPartnerCenter: accepted on our page; waiting for
	// the customer's admin to accept the reseller relationship at Microsoft
	// (MICROSOFT_MODE live or simulated).
	InvitationWaitingForPartnerCenter = "waiting_for_partner_center"
	InvitationCompleted               = "completed"
	InvitationDeclined                = "declined"
	InvitationExpired                 = "expired"
	InvitationCancelled               = "cancelled"
	InvitationFailed                  = "failed"
)

// How a customer came to a partner.
const (
	AcquiredViaDirectBill    = "direct_bill"
	AcquiredViaInvitation    = "invitation"
	AcquiredViaTenantRequest = "tenant_request"
)

// Reseller relationship sources and statuses.
const (
	SourceInvitation    = "invitation"
	SourceExtension     = "extension"
	SourceTenantRequest = "tenant_request"

	RelationshipActive     = "active"
	RelationshipTerminated = "terminated"
)

// Delegated admin relationship statuses.
const (
	// DelegatedAdminApprovalPending: with MICROSOFT_MODE live or simulated,
	// the GDAP relationship exists at Microsoft and waits for the customer's
	// approval in the Microsoft 365 admin center.
	DelegatedAdminApprovalPending = "approval_pending"
	DelegatedAdminActive          = "active"
	DelegatedAdminExpired         = "expired"
	DelegatedAdminTerminated      = "terminated"
	// DelegatedAdminFailed: Microsoft refused the relationship (its error on the timeline).
	DelegatedAdminFailed = "failed"
)

// Enrollment statuses of a reseller's indirect-reseller enrollment.
const (
	EnrollmentNotEnrolled = "not_enrolled"
	EnrollmentSubmitted   = "submitted"
	EnrollmentApproved    = "approved"
	EnrollmentRejected    = "rejected"
)

// Relationship extension statuses; the lifecycle registry (kinds.go) lists them.
const (
	ExtensionWaitingForConsent = "waiting_for_consent"
	// ExtensionWaitingForPartnerCenter: consented and shared; waiting for the
	// reseller's extension in Partner Center (MICROSOFT_MODE live or simulated).
	ExtensionWaitingForPartnerCenter = "waiting_for_partner_center"
	ExtensionConsentDeclined         = "consent_declined"
	ExtensionExpired                 = "expired"
	ExtensionCancelled               = "cancelled"
	ExtensionCompleted               = "completed"
	ExtensionFailed                  = "failed"
)

// Consent methods.
const (
	ConsentCustomerConfirmation = "customer_confirmation"
	ConsentPartnerAttestation   = "partner_attestation"
)

// What a consent record's identity rests on (the spec's consent.identity):
// said plainly, because nobody signs in (audit §4).
const (
	// IdentityEmailedLink: whoever opened the personal link e-mailed to the
	// customer's contact address; the customer did not sign in.
	IdentityEmailedLink = "emailed_link"
	// IdentityPartnerAttestation: the reseller's word, with its evidence.
	IdentityPartnerAttestation = "partner_attestation"
	// IdentityMicrosoftSignIn: an administrator of the customer's tenant
	// signed in with Microsoft, then consented (live or simulated mode).
	IdentityMicrosoftSignIn = "microsoft_sign_in"
)

// ConsentIdentity is what a consent record's identity rests on.
func ConsentIdentity(r ConsentRecord) string {
	switch {
	case r.Method == ConsentPartnerAttestation:
		return IdentityPartnerAttestation
	case r.SignedInObjectID != "":
		return IdentityMicrosoftSignIn
	}
	return IdentityEmailedLink
}

// SignedInEvidence is the evidence kept with a consent given after signing
// in with Microsoft.
func SignedInEvidence(name, upn, objectID, tenantID string) string {
	return "Signed in with Microsoft as " + name + " (" + upn + "; object id " + objectID + ") of tenant " + tenantID +
		", then consented through the personal link e-mailed to the customer's contact."
}

// EmailedLinkEvidence is the evidence kept with a customer confirmation:
// what its identity rests on, in words an auditor reads without the code.
func EmailedLinkEvidence(contactEmail string) string {
	return "Identity rests on possession of the personal link e-mailed to " + contactEmail +
		": the person who confirmed did not sign in, so the record shows that the link was used, not who used it."
}

// Customer tenant request statuses.
const (
	TenantRequestWaitingForProvider = "waiting_for_provider"
	TenantRequestCompleted          = "completed"
	TenantRequestRejected           = "rejected"
	TenantRequestExpired            = "expired"
	TenantRequestFailed             = "failed"
)

// GlobalAdministrator is the role that may never be auto-extended.
const GlobalAdministrator = "Global Administrator"

// AutoExtendPeriod is what one auto-extension of delegated admin adds.
const AutoExtendPeriod = 180 * 24 * time.Hour

// Link token purposes: what a personal link lets its holder do.
const (
	LinkPurposeInvitation = "invitation"
	LinkPurposeConsent    = "consent"
)

// Outbox statuses. Held messages are kept for the dev mailbox when no SMTP
// server is configured.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxHeld    = "held"
	OutboxFailed  = "failed" // refused for good, or given up after MAIL_GIVE_UP
)

// Partner is an indirect provider or a reseller. The API key is shown once at
// creation; only its SHA-256 is kept.
type Partner struct {
	ID               string     `gorm:"primaryKey" json:"id"`
	Name             string     `json:"name"`
	Type             string     `json:"type"`
	DirectBill       bool       `json:"direct_bill"`
	ContactEmail     string     `json:"contact_email"`
	Locale           string     `json:"locale,omitempty"` // default language of its customers' e-mails and pages; empty: English
	APIKeyHash       string     `json:"-"`                // a placeholder since the keys moved to api_keys
	EnrollmentStatus string     `json:"-"`
	DisabledAt       *time.Time `json:"-"` // a disabled partner's keys are refused
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// APIKey is one of a partner's API keys: only its SHA-256 and its last four
// characters (to tell keys apart) are kept.
type APIKey struct {
	ID         string     `gorm:"primaryKey"`
	PartnerID  string     ``
	Hash       string     ``
	Last4      string     `gorm:"column:last4"`
	CreatedAt  time.Time  ``
	ExpiresAt  *time.Time ``
	LastUsedAt *time.Time ``
	RevokedAt  *time.Time ``
}

// MaxActiveAPIKeys is how many keys a partner may hold at once: two, so that
// a new key can be rolled out before the old one is revoked.
const MaxActiveAPIKeys = 2

// WorkflowStart is an onboarding's workflow start not yet confirmed by
// Temporal. It is written with the onboarding's row and deleted once the
// workflow exists; what is left is started by the sweeper.
type WorkflowStart struct {
	WorkflowID string `gorm:"primaryKey"`
	Kind       string
	SubjectID  string
	CreatedAt  time.Time
}

// Attestation is a partner's attestation of a customer's consent, kept with
// the extension until its workflow records it.
type Attestation struct {
	SignerName  string    `json:"signer_name"`
	SignerEmail string    `json:"signer_email"`
	ObtainedAt  time.Time `json:"obtained_at"`
	Evidence    string    `json:"evidence"`
}

// Partnership links a provider with a reseller.
type Partnership struct {
	ID         string     `gorm:"primaryKey" json:"id"`
	ProviderID string     `json:"provider_id"`
	ResellerID string     `json:"reseller_id"`
	Status     string     `json:"status"`
	WorkflowID string     `json:"workflow_id"`
	ExpiresAt  time.Time  `json:"expires_at"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Customer is an organisation with a tenant. CreatedBy is the partner that
// brought it in; only that partner sees BillTo, others through a consented share.
type Customer struct {
	ID           string `gorm:"primaryKey" json:"id"`
	CompanyName  string `json:"company_name"`
	Domain       string `json:"domain,omitempty"`
	ContactEmail string `json:"contact_email"`
	// ContactEmailReason is the reseller's reason for a contact address off
	// the customer's domain (rules.CheckContact).
	ContactEmailReason string    `json:"contact_email_reason,omitempty"`
	AcquiredVia        string    `json:"acquired_via"`
	CreatedBy          string    `json:"created_by"`
	BillTo             *BillTo   `gorm:"serializer:json" json:"bill_to,omitempty"`
	TenantID           string    `json:"tenant_id,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// BillTo is a customer's billing identity.
type BillTo struct {
	CompanyName  string `json:"company_name"`
	AddressLine1 string `json:"address_line1"`
	AddressLine2 string `json:"address_line2,omitempty"`
	City         string `json:"city"`
	PostalCode   string `json:"postal_code"`
	Country      string `json:"country"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
}

// CustomerPartner puts a customer on a partner's customer list.
type CustomerPartner struct {
	CustomerID string `gorm:"primaryKey"`
	PartnerID  string `gorm:"primaryKey"`
	Role       string // "reseller" or "provider"
	CreatedAt  time.Time
}

// DelegatedAdminRequest is what a reseller asks of the customer in an invitation.
type DelegatedAdminRequest struct {
	Roles        []string `json:"roles"`
	DurationDays int      `json:"duration_days"`
	AutoExtend   bool     `json:"auto_extend"`
}

// Invitation is a reseller's invitation of a customer to a reseller
// relationship with the reseller and one of its providers.
type Invitation struct {
	ID         string  `gorm:"primaryKey"`
	ResellerID string  ``
	ProviderID string  ``
	CustomerID *string ``
	// MicrosoftAcceptURL is Microsoft's page where the customer's admin
	// accepts the reseller relationship (live or simulated mode; else empty).
	MicrosoftAcceptURL string ``
	// CustomerTenantID is the customer's tenant once known, by which the
	// Partner Center webhooks find the invitation waiting for it.
	CustomerTenantID string                 ``
	CustomerCompany  string                 ``
	CustomerEmail    string                 ``
	Message          string                 ``
	Locale           string                 `` // the customer's language (i18n.Supported)
	DelegatedAdmin   *DelegatedAdminRequest `gorm:"serializer:json"`
	// ContactEmailReason is the reseller's reason for a customer address on
	// its own or the provider's domain (rules.CheckContact).
	ContactEmailReason string    ``
	Status             string    ``
	RelationshipID     *string   ``
	WorkflowID         string    ``
	ExpiresAt          time.Time ``
	CreatedAt          time.Time ``
	UpdatedAt          time.Time ``
}

// OnboardingEvent is one step of an onboarding's timeline. The (subject, seq)
// pair is chosen by the workflow, so a retried write never duplicates a step.
type OnboardingEvent struct {
	ID        string            `gorm:"primaryKey"` // "<subject_id>:<seq>"
	SubjectID string            ``
	Seq       int               ``
	Type      string            ``
	At        time.Time         ``
	Details   map[string]string `gorm:"serializer:json"`
}

// Relationship is a reseller relationship (customer, provider, reseller).
type Relationship struct {
	ID         string `gorm:"primaryKey"`
	CustomerID string ``
	// CustomerTenantID is the customer's tenant when the relationship was made.
	CustomerTenantID string     ``
	ProviderID       string     ``
	ResellerID       string     ``
	Source           string     ``
	SourceID         string     `` // the invitation, extension or tenant request behind it
	ConsentID        *string    `` // required for source "extension"
	DelegatedAdmin   bool       ``
	Status           string     ``
	EndedAt          *time.Time ``
	EndedBy          string     `` // the partner that ended it
	EndReason        string     ``
	CreatedAt        time.Time  ``
	UpdatedAt        time.Time  ``
}

// DelegatedAdminRelationship is a granular delegated admin grant by a customer.
type DelegatedAdminRelationship struct {
	ID             string     `gorm:"primaryKey"`
	RelationshipID string     ``
	CustomerID     string     ``
	PartnerID      string     `` // the reseller that asked for it
	Roles          []string   `gorm:"serializer:json"`
	DurationDays   int        ``
	AutoExtend     bool       ``
	Status         string     ``
	ActivatedAt    time.Time  ``
	EndsAt         time.Time  ``
	TerminatedAt   *time.Time ``
	Extensions     int        `` // auto-extensions so far
	// GraphRelationshipID is the delegatedAdminRelationship's id in Microsoft
	// Graph (MICROSOFT_MODE live or simulated); nil in off mode.
	GraphRelationshipID *string   ``
	CreatedAt           time.Time ``
	UpdatedAt           time.Time ``
}

// LinkToken is a personal link's credential. Only the SHA-256 of the token is
// stored; the token itself exists in the e-mail alone.
type LinkToken struct {
	Hash      string     `gorm:"primaryKey"`
	Purpose   string     ``
	SubjectID string     ``
	ExpiresAt time.Time  ``
	UsedAt    *time.Time ``
	// SupersededAt: closed because a newer link was sent (a resend).
	SupersededAt *time.Time ``
	// EmailKey is the outbox key of the e-mail that carries the link.
	EmailKey  string    ``
	CreatedAt time.Time ``
}

// OutboxMessage is one e-mail, written once under a key the workflow chooses
// and delivered at most once per successful send.
// Body and HTMLBody keep the {{link}} placeholder: the link itself is only in
// SealedLink (encrypted) until the message is delivered.
type OutboxMessage struct {
	Key           string     `gorm:"primaryKey"`
	ToAddr        string     ``
	Subject       string     ``
	Body          string     `` // the text part
	HTMLBody      string     `` // the HTML part; empty for text-only messages
	SealedLink    *string    ``
	LinkSubjectID string     ``
	Status        string     ``
	Attempts      int        ``
	LastError     string     ``
	SentAt        *time.Time ``
	CreatedAt     time.Time  ``
	UpdatedAt     time.Time  ``
}

// IdempotencyKey remembers which resource a partner's Idempotency-Key created.
type IdempotencyKey struct {
	PartnerID   string    `gorm:"primaryKey"`
	Key         string    `gorm:"primaryKey"`
	Operation   string    ``
	RequestHash string    ``
	ResourceID  string    ``
	CreatedAt   time.Time ``
}

// Enrollment is a reseller's indirect-reseller enrollment.
type Enrollment struct {
	PartnerID   string     `gorm:"primaryKey"`
	Status      string     ``
	WorkflowID  string     ``
	Reason      string     ``
	SubmittedAt time.Time  ``
	DecidedAt   *time.Time ``
	UpdatedAt   time.Time  ``
}

// RelationshipExtension extends a direct-bill customer's relationship to a provider.
type RelationshipExtension struct {
	ID             string       `gorm:"primaryKey"`
	ResellerID     string       ``
	ProviderID     string       ``
	CustomerID     string       ``
	Status         string       ``
	ConsentMethod  string       ``
	Attestation    *Attestation `gorm:"serializer:json"` // with the partner_attestation method
	Locale         string       ``                       // the customer's language (i18n.Supported)
	ConsentID      *string      ``
	RelationshipID *string      ``
	WorkflowID     string       ``
	// ResellerTenantID and ProviderTenantID: the partners' tenants when the
	// extension is made in Partner Center (live or simulated mode; else empty).
	ResellerTenantID string    ``
	ProviderTenantID string    ``
	ExpiresAt        time.Time ``
	CreatedAt        time.Time ``
	UpdatedAt        time.Time ``
}

// ConsentRecord is the evidence that a customer consented. Append-only: the
// database refuses updates and deletes.
type ConsentRecord struct {
	ID          string    `gorm:"primaryKey"`
	ExtensionID string    ``
	CustomerID  string    ``
	ProviderID  string    ``
	ResellerID  string    ``
	Subject     string    `` // who consented: the customer's contact
	Method      string    ``
	SignerName  string    ``
	SignerEmail string    ``
	ObtainedAt  time.Time ``
	IP          string    ``
	UserAgent   string    ``
	TextShown   string    ``
	Evidence    string    ``
	// SignedInTenantID and SignedInObjectID: the administrator who signed in
	// with Microsoft and consented (live or simulated mode).
	SignedInTenantID string    ``
	SignedInObjectID string    ``
	CreatedAt        time.Time ``
}

// BillToShare is the copy of a customer's bill-to info a provider may see.
type BillToShare struct {
	ID         string  `gorm:"primaryKey"`
	CustomerID string  ``
	ProviderID string  ``
	ResellerID string  ``
	ConsentID  string  ``
	Snapshot   *BillTo `gorm:"serializer:json"`
	CreatedAt  time.Time
}

// CustomerTenantRequest is a reseller's request that its provider create a
// tenant for a new customer.
type CustomerTenantRequest struct {
	ID             string    `gorm:"primaryKey"`
	ResellerID     string    ``
	ProviderID     string    ``
	CompanyName    string    ``
	Domain         string    ``
	ContactEmail   string    ``
	BillTo         *BillTo   `gorm:"serializer:json"`
	Locale         string    `` // the customer's language (i18n.Supported)
	Status         string    ``
	Reason         string    ``
	TenantID       string    ``
	CustomerID     *string   ``
	RelationshipID *string   ``
	WorkflowID     string    ``
	ExpiresAt      time.Time ``
	CreatedAt      time.Time ``
	UpdatedAt      time.Time ``
}
