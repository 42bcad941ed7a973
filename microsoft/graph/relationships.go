package graph

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

const relationships = "/tenantRelationships/delegatedAdminRelationships"

func relPath(id string, rest ...string) string {
	p := relationships + "/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// CreateRelationship creates a relationship in status "created".
// https://learn.microsoft.com/en-us/graph/api/tenantrelationship-post-delegatedadminrelationships
func (c *Client) CreateRelationship(ctx context.Context, r Relationship) (Relationship, error) {
	var out Relationship
	return out, c.do(ctx, http.MethodPost, relationships, nil, r, &out)
}

// GetRelationship reads a relationship with its @odata.etag.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-get
func (c *Client) GetRelationship(ctx context.Context, id string) (Relationship, error) {
	var out Relationship
	return out, c.do(ctx, http.MethodGet, relPath(id), nil, nil, &out)
}

// FindRelationship finds the partner's relationship by its displayName,
// unique across the partner's relationships: how a retried create finds the
// one an earlier attempt made. ok is false when there is none.
// https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships
func (c *Client) FindRelationship(ctx context.Context, displayName string) (r Relationship, ok bool, err error) {
	q := url.Values{"$filter": {"displayName eq '" + strings.ReplaceAll(displayName, "'", "''") + "'"}}
	var out list[Relationship]
	if err := c.do(ctx, http.MethodGet, relationships+"?"+q.Encode(), nil, nil, &out); err != nil {
		return Relationship{}, false, err
	}
	for _, r := range out.Value {
		if r.DisplayName == displayName {
			return r, true, nil
		}
	}
	return Relationship{}, false, nil
}

// UpdateRelationship patches a relationship; etag is the @odata.etag of the
// last GET, so a change made meanwhile fails with 412 instead of being lost.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-update
func (c *Client) UpdateRelationship(ctx context.Context, id, etag string, p RelationshipPatch) (Relationship, error) {
	var out Relationship
	return out, c.do(ctx, http.MethodPatch, relPath(id), http.Header{"If-Match": {etag}}, p, &out)
}

// CreateRequest asks for lockForApproval (sends it to the customer) or terminate.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-requests
func (c *Client) CreateRequest(ctx context.Context, relationshipID, action string) (Request, error) {
	var out Request
	return out, c.do(ctx, http.MethodPost, relPath(relationshipID, "requests"), nil, Request{Action: action}, &out)
}

// CreateAccessAssignment gives a security group roles in the customer tenant.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-accessassignments
func (c *Client) CreateAccessAssignment(ctx context.Context, relationshipID string, a AccessAssignment) (AccessAssignment, error) {
	var out AccessAssignment
	return out, c.do(ctx, http.MethodPost, relPath(relationshipID, "accessAssignments"), nil, a, &out)
}

// ListAccessAssignments lists a relationship's access assignments: how a
// retried create finds the one an earlier attempt made for a group.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-accessassignments
func (c *Client) ListAccessAssignments(ctx context.Context, relationshipID string) ([]AccessAssignment, error) {
	var out list[AccessAssignment]
	return out.Value, c.do(ctx, http.MethodGet, relPath(relationshipID, "accessAssignments"), nil, nil, &out)
}

// GetAccessAssignment reads one access assignment.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminaccessassignment-get
func (c *Client) GetAccessAssignment(ctx context.Context, relationshipID, id string) (AccessAssignment, error) {
	var out AccessAssignment
	return out, c.do(ctx, http.MethodGet, relPath(relationshipID, "accessAssignments", id), nil, nil, &out)
}

// GetOperation reads a long-running operation of a relationship.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationshipoperation-get
func (c *Client) GetOperation(ctx context.Context, relationshipID, id string) (Operation, error) {
	var out Operation
	return out, c.do(ctx, http.MethodGet, relPath(relationshipID, "operations", id), nil, nil, &out)
}

// ApprovalLink is where the customer's admin approves a relationship in the
// Microsoft 365 admin center.
// https://learn.microsoft.com/en-us/partner-center/customers/gdap-obtain-admin-permissions-to-manage-customer
func ApprovalLink(relationshipID string) string {
	return "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/" + relationshipID
}
