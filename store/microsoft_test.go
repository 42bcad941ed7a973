package store_test

import (
	"context"
	"errors"
	"testing"

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
