package api

import (
	"context"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// Store is everything the API reads and writes: the small interfaces each
// resource file declares beside its handlers (invitationStore in
// invitations.go, and so on), so that a handler group's needs are read in
// its own file. *store.Store is the implementation (asserted in store_test.go);
// adding a query is a method on it and a line in the interface of the file
// that calls it (docs/architecture.md).
type Store interface {
	serverStore
	apiKeyStore
	partnerStore
	enrollmentStore
	invitationStore
	extensionStore
	tenantRequestStore
	customerStore
	relationshipStore
	bulkJobStore
	webhookStore
	pageStore
	startStore
	delegatedAdminStore
	microsoftConnectionStore
	partnerCenterStore
	signinStore
}

// The delegated admin and Microsoft connection handlers declare their needs
// here rather than beside them while those files are being reorganised.

// delegatedAdminStore is what the delegated admin handlers read.
type delegatedAdminStore interface {
	DelegatedAdmin(ctx context.Context, id string) (models.DelegatedAdminRelationship, error)
	ListDelegatedAdmins(ctx context.Context, partnerID string, f store.DelegatedAdminFilter, page store.Page) ([]models.DelegatedAdminRelationship, string, error)
}

// microsoftConnectionStore is what the partner's Microsoft connection and
// delegated admin assignment handlers read and write.
type microsoftConnectionStore interface {
	DelegatedAdminAssignments(ctx context.Context, partnerID string) (models.DelegatedAdminAssignmentConfig, error)
	DeleteMicrosoftConnection(ctx context.Context, partnerID string) (bool, error)
	MicrosoftConnection(ctx context.Context, partnerID string) (models.MicrosoftConnection, error)
	SaveDelegatedAdminAssignments(ctx context.Context, partnerID string, a []models.AccessAssignment) error
	SaveMicrosoftConnection(ctx context.Context, c *models.MicrosoftConnection) error
}
