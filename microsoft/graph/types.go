package graph

// Shapes of the granular delegated admin privileges (GDAP) API, Graph v1.0:
// https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationships-api-overview
// Timestamps stay strings: Graph answers "activatedDateTime": "" on a
// relationship not yet active (see the Create example), which time.Time
// would refuse.

// Relationship statuses, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationship
const (
	StatusCreated              = "created"
	StatusApprovalPending      = "approvalPending"
	StatusApproved             = "approved"
	StatusActivating           = "activating"
	StatusActive               = "active"
	StatusExpiring             = "expiring"
	StatusExpired              = "expired"
	StatusTerminationRequested = "terminationRequested"
	StatusTerminating          = "terminating"
	StatusTerminated           = "terminated"
)

// Request actions, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationshiprequest
const (
	ActionLockForApproval = "lockForApproval"
	ActionTerminate       = "terminate"
)

// Access assignment statuses, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessassignment
const (
	AssignmentPending = "pending"
	AssignmentActive  = "active"
	AssignmentError   = "error"
)

// Auto-extend durations Graph supports (autoExtendDuration).
const (
	AutoExtend180Days = "P180D"
	NoAutoExtend      = "PT0S"
)

// UnifiedRole is one role by its roleDefinitionId,
// https://learn.microsoft.com/en-us/graph/api/resources/unifiedrole
type UnifiedRole struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
}

// AccessDetails, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessdetails
type AccessDetails struct {
	UnifiedRoles []UnifiedRole `json:"unifiedRoles"`
}

// Roles is AccessDetails for role IDs.
func Roles(ids ...string) *AccessDetails {
	d := &AccessDetails{UnifiedRoles: make([]UnifiedRole, len(ids))}
	for i, id := range ids {
		d.UnifiedRoles[i] = UnifiedRole{RoleDefinitionID: id}
	}
	return d
}

// RoleIDs are the roleDefinitionIds of d.
func (d *AccessDetails) RoleIDs() []string {
	if d == nil {
		return nil
	}
	ids := make([]string, len(d.UnifiedRoles))
	for i, r := range d.UnifiedRoles {
		ids[i] = r.RoleDefinitionID
	}
	return ids
}

// Customer, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationshipcustomerparticipant
type Customer struct {
	TenantID    string `json:"tenantId,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// Relationship, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationship
type Relationship struct {
	ETag                 string         `json:"@odata.etag,omitempty"`
	ID                   string         `json:"id,omitempty"`
	DisplayName          string         `json:"displayName,omitempty"`
	Duration             string         `json:"duration,omitempty"`
	Customer             *Customer      `json:"customer,omitempty"`
	AccessDetails        *AccessDetails `json:"accessDetails,omitempty"`
	Status               string         `json:"status,omitempty"`
	AutoExtendDuration   string         `json:"autoExtendDuration,omitempty"`
	CreatedDateTime      string         `json:"createdDateTime,omitempty"`
	LastModifiedDateTime string         `json:"lastModifiedDateTime,omitempty"`
	ActivatedDateTime    string         `json:"activatedDateTime,omitempty"`
	EndDateTime          string         `json:"endDateTime,omitempty"`
}

// RelationshipPatch is what a PATCH may change: autoExtendDuration on an
// active relationship; the rest only while it is "created".
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-update
type RelationshipPatch struct {
	DisplayName        string         `json:"displayName,omitempty"`
	Duration           string         `json:"duration,omitempty"`
	Customer           *Customer      `json:"customer,omitempty"`
	AccessDetails      *AccessDetails `json:"accessDetails,omitempty"`
	AutoExtendDuration string         `json:"autoExtendDuration,omitempty"`
}

// Request, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationshiprequest
type Request struct {
	ID                   string `json:"id,omitempty"`
	Action               string `json:"action"`
	Status               string `json:"status,omitempty"` // created, pending, succeeded, failed
	CreatedDateTime      string `json:"createdDateTime,omitempty"`
	LastModifiedDateTime string `json:"lastModifiedDateTime,omitempty"`
}

// AccessContainer, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccesscontainer
type AccessContainer struct {
	AccessContainerID   string `json:"accessContainerId"`
	AccessContainerType string `json:"accessContainerType"` // securityGroup
}

// AccessAssignment, https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessassignment
type AccessAssignment struct {
	ETag                 string          `json:"@odata.etag,omitempty"`
	ID                   string          `json:"id,omitempty"`
	Status               string          `json:"status,omitempty"`
	AccessContainer      AccessContainer `json:"accessContainer"`
	AccessDetails        *AccessDetails  `json:"accessDetails,omitempty"`
	CreatedDateTime      string          `json:"createdDateTime,omitempty"`
	LastModifiedDateTime string          `json:"lastModifiedDateTime,omitempty"`
}

// Operation is a long-running operation on a relationship,
// https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationshipoperation
type Operation struct {
	ETag                 string `json:"@odata.etag,omitempty"`
	ID                   string `json:"id"`
	OperationType        string `json:"operationType"` // delegatedAdminAccessAssignmentUpdate, delegatedAdminRelationshipUpdate
	Data                 string `json:"data,omitempty"`
	Status               string `json:"status"` // notStarted, running, complete, failed
	CreatedDateTime      string `json:"createdDateTime,omitempty"`
	LastModifiedDateTime string `json:"lastModifiedDateTime,omitempty"`
}

// errorBody is Graph's error response,
// https://learn.microsoft.com/en-us/graph/errors#error-resource-type
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// list is a collection answer.
type list[T any] struct {
	Value []T `json:"value"`
}
