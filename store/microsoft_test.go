package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

func TestMicrosoftConnectionLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := partner(t, st, models.PartnerTypeReseller)
		_, err := st.MicrosoftConnection(ctx, p.ID)
		require.True(t, errors.Is(err, store.ErrNotFound))

		c := models.MicrosoftConnection{PartnerID: p.ID, TenantID: "t1", ClientID: "c1", SecretSealed: "v1.sealed", Status: models.MicrosoftConnected}
		require.NoError(t, st.SaveMicrosoftConnection(ctx, &c))
		c2 := models.MicrosoftConnection{PartnerID: p.ID, TenantID: "t2", ClientID: "c2", SecretSealed: "v1.other", Status: models.MicrosoftConnected}
		require.NoError(t, st.SaveMicrosoftConnection(ctx, &c2))
		got, err := st.MicrosoftConnection(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, "t2", got.TenantID)
		require.Equal(t, "v1.other", got.SecretSealed)

		require.NoError(t, st.RecordMicrosoftCall(ctx, p.ID, ""))
		got, _ = st.MicrosoftConnection(ctx, p.ID)
		require.NotNil(t, got.LastSuccessAt)
		require.NoError(t, st.RecordMicrosoftCall(ctx, p.ID, "token:invalid_client"))
		got, _ = st.MicrosoftConnection(ctx, p.ID)
		require.Equal(t, models.MicrosoftFailing, got.Status)
		require.NotNil(t, got.LastSuccessAt, "the last success is kept")

		deleted, err := st.DeleteMicrosoftConnection(ctx, p.ID)
		require.NoError(t, err)
		require.True(t, deleted)
		deleted, err = st.DeleteMicrosoftConnection(ctx, p.ID)
		require.NoError(t, err)
		require.False(t, deleted)
	})
}

func TestDelegatedAdminAssignmentsReplaced(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := partner(t, st, models.PartnerTypeReseller)
		cfg, err := st.DelegatedAdminAssignments(ctx, p.ID)
		require.NoError(t, err)
		require.Empty(t, cfg.Assignments)
		a := []models.AccessAssignment{{SecurityGroupID: "g1", RoleIDs: []string{"r1", "r2"}}}
		require.NoError(t, st.SaveDelegatedAdminAssignments(ctx, p.ID, a))
		b := []models.AccessAssignment{{SecurityGroupID: "g2", RoleIDs: []string{"r3"}}}
		require.NoError(t, st.SaveDelegatedAdminAssignments(ctx, p.ID, b))
		cfg, err = st.DelegatedAdminAssignments(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, b, cfg.Assignments)
	})
}

// The Partner Center webhooks name a GDAP relationship by its Graph id: the
// store finds the delegated admin row (and so its lifecycle workflow) by it.
func TestDelegatedAdminByGraphID(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		reseller := partner(t, st, models.PartnerTypeReseller)
		provider := partner(t, st, models.PartnerTypeIndirectProvider)
		c := customer(t, st, reseller.ID)
		rel, err := st.CreateRelationship(ctx, models.Relationship{ID: id(), CustomerID: c.ID, ProviderID: provider.ID, ResellerID: reseller.ID,
			Source: models.SourceInvitation, SourceID: id(), DelegatedAdmin: true, Status: models.RelationshipActive})
		require.NoError(t, err)
		now := time.Now().UTC()
		d := models.DelegatedAdminRelationship{ID: id(), RelationshipID: rel.ID, CustomerID: c.ID, PartnerID: reseller.ID, Roles: []string{"r"},
			DurationDays: 90, Status: models.DelegatedAdminApprovalPending, ActivatedAt: now, EndsAt: now.AddDate(0, 0, 90), CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.UpsertDelegatedAdmin(ctx, &d))
		_, err = st.DelegatedAdminByGraphID(ctx, "graph-1")
		require.True(t, errors.Is(err, store.ErrNotFound))
		_, err = st.DelegatedAdminByGraphID(ctx, "")
		require.True(t, errors.Is(err, store.ErrNotFound))

		require.NoError(t, st.UpdateDelegatedAdminAt(ctx, d.ID, models.DelegatedAdminApprovalPending,
			store.DelegatedAdminUpdate{EndsAt: d.EndsAt, GraphRelationshipID: "graph-1"}))
		got, err := st.DelegatedAdminByGraphID(ctx, "graph-1")
		require.NoError(t, err)
		require.Equal(t, d.ID, got.ID)

		// Activated at Microsoft: the dates move, the Graph id stays.
		at := now.Add(72 * time.Hour).Truncate(time.Second)
		require.NoError(t, st.UpdateDelegatedAdminAt(ctx, d.ID, models.DelegatedAdminActive,
			store.DelegatedAdminUpdate{EndsAt: at.AddDate(0, 0, 90), ActivatedAt: at}))
		got, err = st.DelegatedAdmin(ctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, models.DelegatedAdminActive, got.Status)
		require.True(t, got.ActivatedAt.Equal(at), "%v", got.ActivatedAt)
		require.Equal(t, "graph-1", *got.GraphRelationshipID)

		// A status outside the registry is refused by the database.
		require.Error(t, st.UpdateDelegatedAdminAt(ctx, d.ID, "approved", store.DelegatedAdminUpdate{EndsAt: d.EndsAt}))
	})
}
