// Package partnercenter is the Microsoft Partner Center side of onboarding:
// verifying the webhook events Partner Center posts to us, mapping them to
// what they are about, and the webhook registration calls, written against
// Microsoft's documented contracts:
//
//   - Webhooks (signing, headers, registration, validation events):
//     https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks
//   - Event names and their ResourceUri:
//     https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhook-events
//   - Authentication (app-only tokens for https://api.partnercenter.microsoft.com):
//     https://learn.microsoft.com/en-us/partner-center/developer/partner-center-authentication
package partnercenter

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Event names this product registers for and acts on.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhook-events
const (
	EventTest                            = "test-created"
	EventResellerRelationshipAccepted    = "reseller-relationship-accepted-by-customer"
	EventIndirectResellerRelationshipAcc = "indirect-reseller-relationship-accepted-by-customer"
	EventGDAPRelationshipApproved        = "granular-admin-relationship-approved"
	EventGDAPRelationshipActivated       = "granular-admin-relationship-activated"
	EventGDAPRelationshipTerminated      = "granular-admin-relationship-terminated"
	EventGDAPRelationshipExpired         = "granular-admin-relationship-expired"
	EventGDAPAccessAssignmentCreated     = "granular-admin-access-assignment-created"
	EventGDAPAccessAssignmentActivated   = "granular-admin-access-assignment-activated"
	EventGDAPAccessAssignmentUpdated     = "granular-admin-access-assignment-updated"
	EventGDAPAccessAssignmentDeleted     = "granular-admin-access-assignment-deleted"
)

// RegisteredEvents are the events `onboarding partner-center register-webhooks`
// asks for: test-created (the validation event needs it), the reseller
// relationship acceptances and the GDAP changes.
var RegisteredEvents = []string{
	EventTest,
	EventResellerRelationshipAccepted, EventIndirectResellerRelationshipAcc,
	EventGDAPRelationshipApproved, EventGDAPRelationshipActivated, EventGDAPRelationshipTerminated, EventGDAPRelationshipExpired,
	EventGDAPAccessAssignmentCreated, EventGDAPAccessAssignmentActivated, EventGDAPAccessAssignmentUpdated, EventGDAPAccessAssignmentDeleted,
}

// Event is a Partner Center event as posted to the webhook ("Event model").
type Event struct {
	EventName             string `json:"EventName"`
	ResourceURI           string `json:"ResourceUri"`
	ResourceName          string `json:"ResourceName"`
	AuditURI              string `json:"AuditUri"`
	ResourceChangeUtcDate string `json:"ResourceChangeUtcDate"`
}

// ParseEvent reads an event body.
func ParseEvent(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("not a Partner Center event: %w", err)
	}
	if e.EventName == "" {
		return e, fmt.Errorf("not a Partner Center event: no EventName")
	}
	return e, nil
}

// ChangedAt is ResourceChangeUtcDate. Microsoft writes it with seven
// fractional digits and an offset ("2017-11-16T16:19:06.3520276+00:00");
// one without an offset is read as UTC, as the name says.
func (e Event) ChangedAt() (time.Time, error) {
	s := strings.TrimSpace(e.ResourceChangeUtcDate)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("ResourceChangeUtcDate %q is not a UTC date-time", e.ResourceChangeUtcDate)
	}
	return t, nil
}

// Target kinds: what an event is about, for the workflows waiting on it.
const (
	// TargetNone: an event the product does not act on (logged, acknowledged).
	TargetNone = ""
	// TargetTest: Partner Center's validation event.
	TargetTest = "test"
	// TargetGDAPRelationship: a GDAP relationship changed; ID is its Graph
	// relationship id (the id of delegatedAdminRelationships).
	TargetGDAPRelationship = "gdap_relationship"
	// TargetResellerRelationship: a customer accepted a reseller
	// relationship; ID is the customer's tenant id.
	TargetResellerRelationship = "reseller_relationship"
)

// Target is what an event is about.
type Target struct {
	Kind string
	ID   string
}

// TargetOf maps an event's EventName and ResourceUri to what it is about.
// GDAP events carry ".../granularAdminRelationships/{RelationshipID}" (and
// ".../accessAssignments/{AssignmentID}" after it for assignments); the
// reseller relationship events carry ".../v1/customers/{customer tenant id}".
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhook-events
func TargetOf(e Event) Target {
	switch e.EventName {
	case EventTest:
		return Target{Kind: TargetTest}
	case EventGDAPRelationshipApproved, EventGDAPRelationshipActivated, EventGDAPRelationshipTerminated, EventGDAPRelationshipExpired,
		EventGDAPAccessAssignmentCreated, EventGDAPAccessAssignmentActivated, EventGDAPAccessAssignmentUpdated, EventGDAPAccessAssignmentDeleted:
		if id := segmentAfter(e.ResourceURI, "granularAdminRelationships"); id != "" {
			return Target{Kind: TargetGDAPRelationship, ID: id}
		}
	case EventResellerRelationshipAccepted, EventIndirectResellerRelationshipAcc:
		if id := segmentAfter(e.ResourceURI, "customers"); id != "" {
			return Target{Kind: TargetResellerRelationship, ID: id}
		}
	}
	return Target{Kind: TargetNone}
}

// segmentAfter is the path segment that follows name in a URI ("" when absent).
func segmentAfter(uri, name string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], name) {
			if id, err := url.PathUnescape(parts[i+1]); err == nil && id != "" && !strings.ContainsAny(id, "/?#") {
				return id
			}
			return ""
		}
	}
	return ""
}
