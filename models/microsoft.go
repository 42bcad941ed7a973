package models

import "time"

// Microsoft connection statuses.
const (
	MicrosoftConnected = "connected" // the last token request or call succeeded
	MicrosoftFailing   = "failing"   // Microsoft refused the last one (see LastError)
)

// Credentials of a Microsoft connection (the spec's MicrosoftConnection.credential).
const (
	MicrosoftClientSecret = "client_secret"
	MicrosoftCertificate  = "certificate" // a certificate and its private key, as PEM
)

// MicrosoftConnection is a partner's app registration in its own Entra
// tenant, used for its GDAP calls. The secret is sealed; it is never answered.
type MicrosoftConnection struct {
	PartnerID    string `gorm:"primaryKey"`
	TenantID     string ``
	ClientID     string ``
	SecretSealed string `` // the client secret or the certificate's PEM bundle, by Credential
	Credential   string `` // MicrosoftClientSecret or MicrosoftCertificate
	// CertificateThumbprint and CertificateExpiresAt describe a certificate credential; they are public.
	CertificateThumbprint string     ``
	CertificateExpiresAt  *time.Time ``
	Status                string     ``
	LastError             string     ``
	LastSuccessAt         *time.Time ``
	CreatedAt             time.Time  ``
	UpdatedAt             time.Time  ``
}

// AccessAssignment gives one of the partner's security groups roles in
// each customer tenant once a GDAP relationship is active.
type AccessAssignment struct {
	SecurityGroupID string   `json:"security_group_id"`
	RoleIDs         []string `json:"role_ids"`
}

// DelegatedAdminAssignmentConfig is a partner's access assignments.
type DelegatedAdminAssignmentConfig struct {
	PartnerID   string             `gorm:"primaryKey"`
	Assignments []AccessAssignment `gorm:"serializer:json"`
	UpdatedAt   time.Time          ``
}

// SealAD binds the sealed credential to its partner's row: a sealed value
// copied to another partner does not open.
func (c MicrosoftConnection) SealAD() string { return "microsoft-connection:" + c.PartnerID }
