package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/mail"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// crashAfterCommit does the real write, then fails once: the worst moment for
// a worker to die, since the row exists but the workflow never heard of it.
type crashAfterCommit struct {
	real   activities.PartnerCenter
	mu     sync.Mutex
	failed map[string]bool
}

func (c *crashAfterCommit) failOnce(what string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed[what] {
		return nil
	}
	c.failed[what] = true
	return errors.New("worker lost after the commit of " + what)
}

func (c *crashAfterCommit) CreateResellerRelationship(ctx context.Context, r models.Relationship) (models.Relationship, error) {
	out, err := c.real.CreateResellerRelationship(ctx, r)
	if err != nil {
		return out, err
	}
	return out, c.failOnce("relationship")
}

func (c *crashAfterCommit) CreateDelegatedAdminRelationship(ctx context.Context, d models.DelegatedAdminRelationship) error {
	if err := c.real.CreateDelegatedAdminRelationship(ctx, d); err != nil {
		return err
	}
	return c.failOnce("delegated admin")
}

// flakyMailer refuses the first delivery of each message, then counts sends.
type flakyMailer struct {
	mu    sync.Mutex
	tries map[string]int
	sent  map[string]int
}

func (m *flakyMailer) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tries[msg.Key]++
	if m.tries[msg.Key] == 1 {
		return errors.New("421 try again later")
	}
	m.sent[msg.Key]++
	return nil
}

// inlineRelationship runs createRelationship, the lean shape's relationship
// step, as the onboardings call it: the relationship, then the notices.
// The invitation it records on is accepted.
func inlineRelationship(ctx workflow.Context, in RelationshipInput) (RelationshipResult, error) {
	t := &tracker{kind: activities.KindInvitation, subjectID: in.SourceID, status: models.InvitationAccepted, seq: 3, lean: true}
	done := activities.Progress{Status: models.InvitationCompleted, Event: "relationship_created", Details: map[string]string{"customer_id": in.CustomerID}}
	res, notified, err := createRelationship(ctx, t, in, done, workflow.GetLogger(ctx))
	if err != nil {
		return res, err
	}
	return res, notified(ctx)
}

// The same guarantees for the child workflow (older executions) and for the
// lean shape's step inside the onboarding, with a delegated admin grant and
// without (where the onboarding's record shares the step's local activity).
func TestRelationshipCreationRetriedWithoutDuplicates(t *testing.T) {
	shapes := []struct {
		name     string
		inline   bool
		workflow func(workflow.Context, RelationshipInput) (RelationshipResult, error)
	}{{"child workflow", false, RelationshipWorkflow}, {"inside the onboarding", true, inlineRelationship}}
	for _, shape := range shapes {
		for _, grant := range []bool{true, false} {
			for _, dialect := range storetest.Dialects {
				t.Run(fmt.Sprintf("%s/delegated admin %t/%s", shape.name, grant, dialect), func(t *testing.T) {
					relationshipRetriedWithoutDuplicates(t, dialect, shape.workflow, shape.inline, grant)
				})
			}
		}
	}
}

func relationshipRetriedWithoutDuplicates(t *testing.T, dialect migrations.Dialect, wf func(workflow.Context, RelationshipInput) (RelationshipResult, error), inline, grant bool) {
	st := storetest.New(t, dialect)
	ctx := context.Background()
	provider, reseller := seedPartner(t, st, models.PartnerTypeIndirectProvider), seedPartner(t, st, models.PartnerTypeReseller)
	now := time.Now().UTC()
	require.NoError(t, st.CreatePartnership(ctx, &models.Partnership{ID: uuid.NewString(), ProviderID: provider.ID, ResellerID: reseller.ID,
		Status: models.PartnershipActive, WorkflowID: "w", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}))

	mailer := &flakyMailer{tries: map[string]int{}, sent: map[string]int{}}
	acts := activities.New(st, mailer, "http://localhost:8080")
	acts.PartnerCenter = &crashAfterCommit{real: acts.PartnerCenter, failed: map[string]bool{}}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(acts)
	env.RegisterWorkflow(DelegatedAdminWorkflow)
	var lifecycle DelegatedAdminInput
	env.OnWorkflow(DelegatedAdminWorkflow, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in DelegatedAdminInput) (DelegatedAdminStatus, error) {
			lifecycle = in
			return DelegatedAdminStatus{}, nil
		})
	customerID := uuid.NewString()
	in := RelationshipInput{
		RelationshipID: uuid.NewString(), Source: models.SourceInvitation, SourceID: "inv-1",
		Reseller:   Party{ID: reseller.ID, Name: reseller.Name, Email: reseller.ContactEmail},
		Provider:   Party{ID: provider.ID, Name: provider.Name, Email: provider.ContactEmail},
		CustomerID: customerID, CustomerName: "Northwind",
		NewCustomer: &activities.NewCustomer{ID: customerID, CompanyName: "Northwind", Email: "admin@northwind.example",
			AcquiredVia: models.AcquiredViaInvitation, CreatedBy: reseller.ID},
	}
	if grant {
		in.DelegatedAdmin = &models.DelegatedAdminRequest{Roles: []string{"Helpdesk Agent"}, DurationDays: 30}
	}
	// The invitation the relationship comes from, accepted.
	require.NoError(t, st.CreateInvitation(ctx, &models.Invitation{ID: in.SourceID, ResellerID: reseller.ID, ProviderID: provider.ID,
		CustomerEmail: "admin@northwind.example", Status: models.InvitationAccepted, WorkflowID: "invitation:" + in.SourceID, ExpiresAt: now, CreatedAt: now, UpdatedAt: now}))
	env.RegisterWorkflow(wf)
	env.ExecuteWorkflow(wf, in)
	require.NoError(t, env.GetWorkflowError())
	var res RelationshipResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, in.RelationshipID, res.RelationshipID)

	n, err := storetest.CountRelationships(ctx, st, customerID, provider.ID, reseller.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "one relationship despite the retry")
	if inline {
		inv, err := st.Invitation(ctx, in.SourceID)
		require.NoError(t, err)
		require.Equal(t, models.InvitationCompleted, inv.Status, "the onboarding's record is written with the step")
		require.NotNil(t, inv.RelationshipID)
		require.Equal(t, res.RelationshipID, *inv.RelationshipID)
		events, err := st.Events(ctx, in.SourceID)
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, "relationship_created", events[0].Type)
		require.Equal(t, res.RelationshipID, events[0].Details["relationship_id"])
	}
	if !grant {
		require.Empty(t, res.DelegatedAdminID)
		require.Len(t, mailer.sent, 2, "both partners notified")
		return
	}
	var das int64
	require.NoError(t, st.DB().Model(&models.DelegatedAdminRelationship{}).Where("relationship_id = ?", res.RelationshipID).Count(&das).Error)
	require.EqualValues(t, 1, das, "one delegated admin relationship despite the retry")
	da, err := st.DelegatedAdminForRelationship(ctx, res.RelationshipID)
	require.NoError(t, err)
	require.Equal(t, []string{"Helpdesk Agent"}, da.Roles)
	require.Equal(t, 30, int(da.EndsAt.Sub(da.ActivatedAt).Hours()/24))
	require.Equal(t, res.DelegatedAdminID, lifecycle.DelegatedAdminID, "the lifecycle starts with the grant")
	require.WithinDuration(t, da.EndsAt, lifecycle.EndsAt, time.Second)

	for _, p := range []models.Partner{provider, reseller} {
		list, _, err := st.ListCustomers(ctx, p.ID, models.AcquiredViaInvitation, store.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, list, 1, "the customer is on %s's list once", p.Type)
	}
	require.Len(t, mailer.sent, 2, "both partners notified")
	for key, n := range mailer.sent {
		require.Equal(t, 1, n, "%s delivered exactly once", key)
	}
}

func seedPartner(t *testing.T, st *store.Store, typ string) models.Partner {
	t.Helper()
	_, hash := secret.New(secret.APIKeyPrefix)
	now := time.Now().UTC()
	p := models.Partner{ID: uuid.NewString(), Name: typ, Type: typ, ContactEmail: typ + "@example.com", APIKeyHash: hash,
		EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
	require.NoError(t, st.CreatePartner(context.Background(), &p))
	return p
}
