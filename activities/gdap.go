package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
)

// Error types of the GDAP activities.
const (
	// ErrTypeGraph prefixes a refusal by Microsoft Graph: ErrTypeGraph + Graph's error.code.
	ErrTypeGraph = "Graph:"
	// ErrTypeNoMicrosoftConnection: the partner has recorded no app registration.
	ErrTypeNoMicrosoftConnection = "NoMicrosoftConnection"
	// ErrTypeMicrosoftCredential: the connection's credential cannot be used
	// (no or wrong ONBOARDING_SECRET_KEY, an expired certificate).
	ErrTypeMicrosoftCredential = "MicrosoftCredential"
	// ErrTypeRelationshipEnded: the relationship expired or was terminated at Microsoft.
	ErrTypeRelationshipEnded = "RelationshipEnded"
)

// GDAP are the activities that create and follow granular delegated admin
// relationships in Microsoft Graph with a partner's own app registration
// (MICROSOFT_MODE live or simulated).
type GDAP struct {
	Store     *store.Store
	Secrets   *secret.Keyring
	Microsoft config.Microsoft
	// PartnerCenterURL is the Partner Center API (PARTNER_CENTER_API_URL):
	// the provider's view of a customer's partners.
	PartnerCenterURL string
	// HTTPClient carries Graph, Partner Center and token calls; nil is the
	// graph package's default.
	HTTPClient *http.Client
}

// connection is the partner's app registration and its opened credential.
func (g *GDAP) connection(ctx context.Context, partnerID string) (models.MicrosoftConnection, MicrosoftCredential, error) {
	c, err := g.Store.MicrosoftConnection(ctx, partnerID)
	if errors.Is(err, store.ErrNotFound) {
		return c, MicrosoftCredential{}, temporal.NewNonRetryableApplicationError("the partner has no Microsoft connection (PUT /v1/me/microsoft-connection)", ErrTypeNoMicrosoftConnection, nil)
	}
	if err != nil {
		return c, MicrosoftCredential{}, fmt.Errorf("load the Microsoft connection: %w", err)
	}
	cred, err := OpenMicrosoftCredential(g.Secrets, c, time.Now())
	if err != nil {
		return c, cred, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeMicrosoftCredential, nil)
	}
	return c, cred, nil
}

// client is a Graph client with the partner's app registration.
func (g *GDAP) client(ctx context.Context, partnerID string) (*graph.Client, error) {
	c, cred, err := g.connection(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	return graph.New(ctx, graph.Config{GraphURL: g.Microsoft.GraphURL, LoginURL: g.Microsoft.LoginURL, TenantID: c.TenantID, ClientID: c.ClientID,
		ClientSecret: cred.ClientSecret, Certificate: cred.Certificate, HTTPClient: g.HTTPClient}), nil
}

// graphFailure records the call's outcome on the connection and turns a
// Graph error into an activity error: a refusal is final and carries Graph's
// code and message (for the timeline); throttling and faults retry, after
// Graph's Retry-After when it sent one.
func (g *GDAP) graphFailure(ctx context.Context, partnerID string, err error) error {
	if err == nil {
		if rerr := g.Store.RecordMicrosoftCall(ctx, partnerID, ""); rerr != nil {
			activity.GetLogger(ctx).Warn("Could not note the Microsoft call", "error", rerr)
		}
		return nil
	}
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return err
	}
	if !ge.Retryable() {
		if rerr := g.Store.RecordMicrosoftCall(ctx, partnerID, ge.Code+": "+ge.Message); rerr != nil {
			activity.GetLogger(ctx).Warn("Could not note the Microsoft call", "error", rerr)
		}
	}
	return temporal.NewApplicationErrorWithOptions(ge.Error(), ErrTypeGraph+ge.Code,
		temporal.ApplicationErrorOptions{NonRetryable: !ge.Retryable(), NextRetryDelay: ge.RetryAfter})
}

// GDAPRelationshipInput is a relationship to ask the customer for.
type GDAPRelationshipInput struct {
	PartnerID string
	// DisplayName is unique across the partner's relationships (≤ 50
	// characters) and chosen by the workflow: a retry finds by it the
	// relationship an earlier attempt created.
	DisplayName      string
	CustomerTenantID string // when known
	Roles            []string
	DurationDays     int
	AutoExtend       bool
}

// GDAPRelationship is what the workflow keeps of a relationship: no token, no secret.
type GDAPRelationship struct {
	ID           string
	Status       string
	EndDateTime  string
	ApprovalLink string
}

func relationshipOf(r graph.Relationship) GDAPRelationship {
	return GDAPRelationship{ID: r.ID, Status: r.Status, EndDateTime: r.EndDateTime, ApprovalLink: graph.ApprovalLink(r.ID)}
}

// CreateGDAPRelationship creates the relationship once: it first looks for
// one of the same displayName (an earlier attempt that crashed before it
// could report), and a create that loses a race to a twin finds the twin.
// https://learn.microsoft.com/en-us/graph/api/tenantrelationship-post-delegatedadminrelationships
func (g *GDAP) CreateGDAPRelationship(ctx context.Context, in GDAPRelationshipInput) (GDAPRelationship, error) {
	if in.DisplayName == "" || len([]rune(in.DisplayName)) > 50 || in.DurationDays < 1 || in.DurationDays > 730 || len(in.Roles) == 0 {
		return GDAPRelationship{}, temporal.NewNonRetryableApplicationError("a GDAP relationship needs a displayName of 1 to 50 characters, 1 to 730 days and a role", ErrTypeInvalidInput, nil)
	}
	c, err := g.client(ctx, in.PartnerID)
	if err != nil {
		return GDAPRelationship{}, err
	}
	found, ok, err := c.FindRelationship(ctx, in.DisplayName)
	if err != nil {
		return GDAPRelationship{}, g.graphFailure(ctx, in.PartnerID, err)
	}
	if ok {
		activity.GetLogger(ctx).Info("GDAP relationship found by its displayName", "relationship_id", found.ID, "status", found.Status)
		return relationshipOf(found), g.graphFailure(ctx, in.PartnerID, nil)
	}
	extend := graph.NoAutoExtend
	if in.AutoExtend && !roles.HasGlobalAdministrator(in.Roles) {
		extend = graph.AutoExtend180Days
	}
	r := graph.Relationship{DisplayName: in.DisplayName, Duration: fmt.Sprintf("P%dD", in.DurationDays),
		AccessDetails: graph.Roles(roles.IDs(in.Roles)...), AutoExtendDuration: extend}
	if in.CustomerTenantID != "" {
		r.Customer = &graph.Customer{TenantID: in.CustomerTenantID}
	}
	created, err := c.CreateRelationship(ctx, r)
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Code == "nameAlreadyExists" {
		if found, ok, ferr := c.FindRelationship(ctx, in.DisplayName); ferr == nil && ok {
			return relationshipOf(found), g.graphFailure(ctx, in.PartnerID, nil)
		}
	}
	if err != nil {
		return GDAPRelationship{}, g.graphFailure(ctx, in.PartnerID, err)
	}
	activity.GetLogger(ctx).Info("GDAP relationship created", "relationship_id", created.ID)
	return relationshipOf(created), g.graphFailure(ctx, in.PartnerID, nil)
}

// GDAPRef names a partner's relationship.
type GDAPRef struct {
	PartnerID      string
	RelationshipID string
}

// LockGDAPRelationship sends the relationship to the customer for approval
// (lockForApproval), unless an earlier attempt already did.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-requests
func (g *GDAP) LockGDAPRelationship(ctx context.Context, in GDAPRef) (GDAPRelationship, error) {
	c, r, err := g.read(ctx, in)
	if err != nil {
		return GDAPRelationship{}, err
	}
	if r.Status == graph.StatusCreated {
		if _, err := c.CreateRequest(ctx, in.RelationshipID, graph.ActionLockForApproval); err != nil {
			return GDAPRelationship{}, g.graphFailure(ctx, in.PartnerID, err)
		}
		r.Status = graph.StatusApprovalPending
	}
	return relationshipOf(r), g.graphFailure(ctx, in.PartnerID, nil)
}

// AwaitGDAPActiveInput polls a relationship until the customer approved it.
type AwaitGDAPActiveInput struct {
	GDAPRef
	Every time.Duration // between reads: minutes in production
}

// AwaitGDAPActive reads the relationship every in.Every, heartbeating its
// status, until Graph reports it active; expired or terminated is final.
// One long activity keeps the workflow's history small while the customer
// takes days; the workflow bounds it (its 90-day expiry) and can cancel it.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-get
func (g *GDAP) AwaitGDAPActive(ctx context.Context, in AwaitGDAPActiveInput) (GDAPRelationship, error) {
	c, err := g.client(ctx, in.PartnerID)
	if err != nil {
		return GDAPRelationship{}, err
	}
	for {
		r, err := c.GetRelationship(ctx, in.RelationshipID)
		if err != nil {
			var ge *graph.Error
			if !errors.As(err, &ge) || !ge.Retryable() {
				return GDAPRelationship{}, g.graphFailure(ctx, in.PartnerID, err)
			}
			activity.RecordHeartbeat(ctx, "graph unavailable: "+ge.Code)
		} else {
			activity.RecordHeartbeat(ctx, r.Status)
			switch r.Status {
			case graph.StatusActive:
				return relationshipOf(r), g.graphFailure(ctx, in.PartnerID, nil)
			case graph.StatusExpired, graph.StatusTerminated, graph.StatusTerminating, graph.StatusTerminationRequested, graph.StatusExpiring:
				return relationshipOf(r), temporal.NewNonRetryableApplicationError("the relationship is "+r.Status+" at Microsoft", ErrTypeRelationshipEnded, nil)
			}
		}
		if err := graph.Sleep(ctx, in.Every); err != nil {
			return GDAPRelationship{}, err
		}
	}
}

// CreateGDAPAccessAssignments gives the partner's configured security groups
// their roles in the customer tenant, once each (a retry finds the groups
// already assigned), and waits until every assignment is active.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-accessassignments
func (g *GDAP) CreateGDAPAccessAssignments(ctx context.Context, in AwaitGDAPActiveInput) (int, error) {
	cfg, err := g.Store.DelegatedAdminAssignments(ctx, in.PartnerID)
	if err != nil {
		return 0, fmt.Errorf("load the access assignments: %w", err)
	}
	c, err := g.client(ctx, in.PartnerID)
	if err != nil {
		return 0, err
	}
	existing, err := c.ListAccessAssignments(ctx, in.RelationshipID)
	if err != nil {
		return 0, g.graphFailure(ctx, in.PartnerID, err)
	}
	have := map[string]bool{}
	for _, a := range existing {
		have[a.AccessContainer.AccessContainerID] = true
	}
	for _, want := range cfg.Assignments {
		if have[want.SecurityGroupID] {
			continue
		}
		_, err := c.CreateAccessAssignment(ctx, in.RelationshipID, graph.AccessAssignment{
			AccessContainer: graph.AccessContainer{AccessContainerID: want.SecurityGroupID, AccessContainerType: "securityGroup"},
			AccessDetails:   graph.Roles(want.RoleIDs...)})
		if err != nil {
			return 0, g.graphFailure(ctx, in.PartnerID, err)
		}
	}
	for {
		list, err := c.ListAccessAssignments(ctx, in.RelationshipID)
		if err != nil {
			return 0, g.graphFailure(ctx, in.PartnerID, err)
		}
		pending := 0
		for _, a := range list {
			switch a.Status {
			case graph.AssignmentError:
				return 0, temporal.NewNonRetryableApplicationError("Microsoft could not assign access to group "+a.AccessContainer.AccessContainerID, ErrTypeGraph+"accessAssignmentError", nil)
			case graph.AssignmentActive:
			default:
				pending++
			}
		}
		activity.RecordHeartbeat(ctx, pending)
		if pending == 0 {
			return len(list), g.graphFailure(ctx, in.PartnerID, nil)
		}
		if err := graph.Sleep(ctx, in.Every); err != nil {
			return 0, err
		}
	}
}

// GetGDAPRelationship reads a relationship once, for a workflow that polls
// with its own timers.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-get
func (g *GDAP) GetGDAPRelationship(ctx context.Context, in GDAPRef) (GDAPRelationship, error) {
	_, r, err := g.read(ctx, in)
	if err != nil {
		return GDAPRelationship{}, err
	}
	return relationshipOf(r), g.graphFailure(ctx, in.PartnerID, nil)
}

// read is the partner's client and the relationship as Graph has it now.
func (g *GDAP) read(ctx context.Context, in GDAPRef) (*graph.Client, graph.Relationship, error) {
	c, err := g.client(ctx, in.PartnerID)
	if err != nil {
		return nil, graph.Relationship{}, err
	}
	r, err := c.GetRelationship(ctx, in.RelationshipID)
	if err != nil {
		return nil, graph.Relationship{}, g.graphFailure(ctx, in.PartnerID, err)
	}
	return c, r, nil
}

// gdapEnded: the relationship is over, or on its way out, at Microsoft.
func gdapEnded(status string) bool {
	switch status {
	case graph.StatusExpiring, graph.StatusExpired, graph.StatusTerminationRequested, graph.StatusTerminating, graph.StatusTerminated:
		return true
	}
	return false
}

// GDAPEnded tells whether a relationship status read from Graph means it
// ended (or is ending) at Microsoft.
func GDAPEnded(status string) bool { return gdapEnded(status) }

// TerminateGDAPRelationship ends an active relationship at Microsoft by a
// terminate request, unless it is already ending (a retry, or the customer
// ended it first).
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-requests
func (g *GDAP) TerminateGDAPRelationship(ctx context.Context, in GDAPRef) (GDAPRelationship, error) {
	c, r, err := g.read(ctx, in)
	if err != nil {
		return GDAPRelationship{}, err
	}
	if gdapEnded(r.Status) {
		return relationshipOf(r), g.graphFailure(ctx, in.PartnerID, nil)
	}
	if _, err := c.CreateRequest(ctx, in.RelationshipID, graph.ActionTerminate); err != nil {
		return GDAPRelationship{}, g.graphFailure(ctx, in.PartnerID, err)
	}
	activity.GetLogger(ctx).Info("GDAP relationship termination requested", "relationship_id", in.RelationshipID)
	r.Status = graph.StatusTerminationRequested
	return relationshipOf(r), g.graphFailure(ctx, in.PartnerID, nil)
}

// GDAPAutoExtendInput switches a relationship's auto-extension.
type GDAPAutoExtendInput struct {
	GDAPRef
	On bool
}

// gdapETagAttempts bounds the re-reads when the relationship keeps changing
// between our GET and our PATCH.
const gdapETagAttempts = 5

// SetGDAPAutoExtend sets autoExtendDuration (P180D or PT0S) by a PATCH
// carrying the If-Match ETag of the GET before it: a change made at
// Microsoft meanwhile answers 412, and the relationship is read again.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-update
func (g *GDAP) SetGDAPAutoExtend(ctx context.Context, in GDAPAutoExtendInput) (GDAPRelationship, error) {
	c, err := g.client(ctx, in.PartnerID)
	if err != nil {
		return GDAPRelationship{}, err
	}
	want := graph.NoAutoExtend
	if in.On {
		want = graph.AutoExtend180Days
	}
	for attempt := 1; ; attempt++ {
		r, err := c.GetRelationship(ctx, in.RelationshipID)
		if err != nil {
			return GDAPRelationship{}, g.graphFailure(ctx, in.PartnerID, err)
		}
		if r.AutoExtendDuration == want || gdapEnded(r.Status) {
			return relationshipOf(r), g.graphFailure(ctx, in.PartnerID, nil)
		}
		updated, err := c.UpdateRelationship(ctx, in.RelationshipID, r.ETag, graph.RelationshipPatch{AutoExtendDuration: want})
		var ge *graph.Error
		if errors.As(err, &ge) && ge.Status == http.StatusPreconditionFailed && attempt < gdapETagAttempts {
			activity.GetLogger(ctx).Info("GDAP relationship changed since it was read; reading it again", "relationship_id", in.RelationshipID, "attempt", attempt)
			continue
		}
		if err != nil {
			return GDAPRelationship{}, g.graphFailure(ctx, in.PartnerID, err)
		}
		return relationshipOf(updated), g.graphFailure(ctx, in.PartnerID, nil)
	}
}
