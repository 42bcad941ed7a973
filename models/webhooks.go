package models

import (
	"sort"
	"strings"
	"time"
)

// WebhookEndpoint is a partner's subscription to events about its objects.
type WebhookEndpoint struct {
	ID                   string     `gorm:"primaryKey"`
	PartnerID            string     ``
	URL                  string     ``
	Description          string     ``
	Events               []string   `gorm:"serializer:json"` // catalogue types, "invitation.*" or "*"
	SecretSealed         string     ``                       // secret.Seal of the whsec_… secret
	PreviousSecretSealed string     ``                       // the secret before a rotation, still signing until PreviousSecretUntil
	PreviousSecretUntil  *time.Time ``
	Enabled              bool       ``
	DisabledReason       string     ``
	FailingSince         *time.Time `` // first failure since the last success
	FailedAttempts       int        `` // failed attempts since the last success
	CreatedAt            time.Time  ``
	UpdatedAt            time.Time  ``
}

// Subscribed tells whether the endpoint wants events of this type.
func (e WebhookEndpoint) Subscribed(eventType string) bool {
	for _, want := range e.Events {
		if want == "*" || want == eventType {
			return true
		}
		if prefix, ok := strings.CutSuffix(want, "*"); ok && strings.HasPrefix(eventType, prefix) {
			return true
		}
	}
	return false
}

// Webhook delivery statuses: pending until a 2xx (succeeded) or until the
// retries are used up, the endpoint answered 410, or it was disabled (failed).
const (
	WebhookPending   = "pending"
	WebhookSucceeded = "succeeded"
	WebhookFailed    = "failed"
)

// WebhookDelivery is one message to one endpoint: the outbox row a
// dispatcher sends, and the delivery log the partner reads.
type WebhookDelivery struct {
	ID             string     `gorm:"primaryKey"` // the webhook-id header: stable over retries
	EndpointID     string     ``
	EventID        string     `` // the timeline event ("<object>:<seq>")
	ObjectID       string     ``
	Seq            int        ``
	Part           int        `` // index among the types one timeline event maps to
	Type           string     ``
	Payload        string     `` // the exact body, fixed at creation so every attempt is byte-identical
	EventAt        time.Time  ``
	Status         string     ``
	Attempts       int        ``
	NextAttemptAt  time.Time  ``
	LeaseUntil     *time.Time ``
	LastStatusCode int        ``
	LastResponse   string     `` // first bytes of the last answer
	LastError      string     ``
	DeliveredAt    *time.Time ``
	CreatedAt      time.Time  ``
	UpdatedAt      time.Time  ``
}

// WebhookPing is the type of the test message POST …/{id}/test sends.
const WebhookPing = "ping"

// WebhookEventTypes is the one mapping of timeline events (by onboarding kind)
// to the versioned types of the webhook catalogue. A timeline event not in it
// (reminders, operator notices) is not delivered. One timeline event may be
// several catalogue events: a relationship made by an invitation is both
// invitation.completed and relationship.created.
var WebhookEventTypes = map[string]map[string][]string{
	"invitation": {
		"invitation_created":            {"invitation.created"},
		"invitation_sent":               {"invitation.sent"},
		"invitation_resent":             {"invitation.sent"},
		"customer_accepted":             {"invitation.accepted"},
		"customer_declined":             {"invitation.declined"},
		"cancelled_by_partner":          {"invitation.cancelled"},
		"cancelled_by_operator":         {"invitation.cancelled"},
		"invitation_expired":            {"invitation.expired"},
		EventAcceptedAtMicrosoft:        {"invitation.accepted_at_microsoft"},
		EventMicrosoftAcceptanceExpired: {"invitation.expired"},
		"relationship_created":          {"invitation.completed", "relationship.created"},
		"failed":                        {"invitation.failed"},
		"email_failed":                  {"invitation.email_failed"},
	},
	"extension": {
		"extension_requested":         {"extension.created"},
		"consent_requested":           {"extension.consent.requested"},
		"consent_recorded":            {"extension.consent.recorded"},
		"consent_given":               {"extension.consent.given"},
		"consent_declined":            {"extension.consent.declined"},
		"bill_to_shared":              {"extension.bill_to.shared"},
		"consent_expired":             {"extension.expired"},
		EventPartnerCenterTask:        {"extension.waiting_for_partner_center"},
		EventExtendedAtMicrosoft:      {"extension.extended_at_microsoft"},
		EventPartnerCenterTaskExpired: {"extension.expired"},
		"cancelled_by_partner":        {"extension.cancelled"},
		"cancelled_by_operator":       {"extension.cancelled"},
		"relationship_created":        {"extension.completed", "relationship.created"},
		"failed":                      {"extension.failed"},
		"email_failed":                {"extension.email_failed"},
	},
	"tenant_request": {
		"tenant_requested":        {"tenant_request.created"},
		"tenant_created":          {"tenant_request.tenant_created"},
		"tenant_request_rejected": {"tenant_request.rejected"},
		"tenant_request_expired":  {"tenant_request.expired"},
		"relationship_created":    {"tenant_request.completed", "relationship.created"},
		"failed":                  {"tenant_request.failed"},
	},
	"delegated_admin": {
		EventDelegatedAdminApprovalRequested: {"delegated_admin.approval_requested"},
		EventDelegatedAdminApprovalExpired:   {"delegated_admin.approval_expired"},
		EventDelegatedAdminFailed:            {"delegated_admin.failed"},
		EventDelegatedAdminEndedAtMicrosoft:  {"delegated_admin.ended_at_microsoft"},
		"delegated_admin_activated":          {"delegated_admin.activated"},
		"notice_sent":                        {"delegated_admin.expiring"},
		"auto_extended":                      {"delegated_admin.extended"},
		"auto_extend_changed":                {"delegated_admin.auto_extend_changed"},
		"delegated_admin_expired":            {"delegated_admin.expired"},
		"delegated_admin_terminated":         {"delegated_admin.terminated"},
	},
	"partnership": {
		"partnership_invited":   {"partnership.invited"},
		"partnership_accepted":  {"partnership.accepted"},
		"partnership_declined":  {"partnership.declined"},
		"partnership_expired":   {"partnership.expired"},
		"partnership_cancelled": {"partnership.cancelled"},
	},
	"relationship": {
		"relationship_ended": {"relationship.ended"},
	},
	"enrollment": {
		"enrollment_submitted": {"enrollment.submitted"},
		"enrollment_approved":  {"enrollment.approved"},
		"enrollment_rejected":  {"enrollment.rejected"},
	},
}

// Timeline events of an invitation the customer also accepts at Microsoft
// (MICROSOFT_MODE live or simulated): after customer_accepted, the reseller
// relationship waits for the customer's admin in the admin center.
const (
	// EventResellerRelationshipRequested: waiting for Partner Center;
	// details.accept_url (Microsoft's page), details.customer_tenant_id.
	EventResellerRelationshipRequested = "reseller_relationship_requested"
	// EventAcceptedAtMicrosoft: Partner Center lists the reseller on the customer.
	EventAcceptedAtMicrosoft = "accepted_at_microsoft"
	// EventMicrosoftAcceptanceReminderSent: Microsoft's link again, by e-mail.
	EventMicrosoftAcceptanceReminderSent = "microsoft_acceptance_reminder_sent"
	// EventMicrosoftAcceptanceExpired: not accepted at Microsoft in time.
	EventMicrosoftAcceptanceExpired = "microsoft_acceptance_expired"
)

// Timeline events of an extension made in Partner Center (MICROSOFT_MODE
// live or simulated): Microsoft offers no API for it, so after the consent
// and the bill-to share the reseller gets a task.
const (
	// EventPartnerCenterTask: the reseller was sent the steps;
	// details.customer_tenant_id, details.partner_center_url.
	EventPartnerCenterTask = "partner_center_task"
	// EventPartnerCenterTaskReminderSent: the steps again, by e-mail.
	EventPartnerCenterTaskReminderSent = "partner_center_task_reminder_sent"
	// EventExtendedAtMicrosoft: Partner Center lists the provider on the customer.
	EventExtendedAtMicrosoft = "extended_at_microsoft"
	// EventPartnerCenterTaskExpired: not done in Partner Center in time.
	EventPartnerCenterTaskExpired = "partner_center_task_expired"
)

// Timeline events of a delegated admin relationship obtained at Microsoft
// (MICROSOFT_MODE live or simulated); the webhook types above follow them.
const (
	// EventDelegatedAdminApprovalRequested: the GDAP relationship exists at
	// Microsoft and waits for the customer's approval; details.approval_link.
	EventDelegatedAdminApprovalRequested = "approval_requested"
	// EventDelegatedAdminApprovalLinkSent and …ReminderSent: the approval
	// link went to the customer by e-mail.
	EventDelegatedAdminApprovalLinkSent     = "approval_link_sent"
	EventDelegatedAdminApprovalReminderSent = "approval_reminder_sent"
	// EventDelegatedAdminApprovalExpired: not approved within Microsoft's 90 days.
	EventDelegatedAdminApprovalExpired = "approval_expired"
	// EventDelegatedAdminFailed: Microsoft refused; details.reason carries its error.
	EventDelegatedAdminFailed = "failed"
	// EventDelegatedAdminEndedAtMicrosoft: the relationship expired or was
	// terminated at Microsoft (by the customer, say); details.reason.
	EventDelegatedAdminEndedAtMicrosoft = "ended_at_microsoft"
	// Microsoft refused to terminate, or to change auto-extension, as asked
	// here; details.reason carries Graph's error.
	EventDelegatedAdminTerminationRefusedAtMicrosoft = "termination_refused_at_microsoft"
	EventDelegatedAdminAutoExtendRefusedAtMicrosoft  = "auto_extend_refused_at_microsoft"
)

// WebhookCatalogue lists every catalogue type (and ping), sorted.
func WebhookCatalogue() []string {
	seen := map[string]bool{WebhookPing: true}
	for _, events := range WebhookEventTypes {
		for _, types := range events {
			for _, t := range types {
				seen[t] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
