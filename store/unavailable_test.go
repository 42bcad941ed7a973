package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/store"
)

func TestIsUnavailable(t *testing.T) {
	require.True(t, store.IsUnavailable(fmt.Errorf("load: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})))
	require.True(t, store.IsUnavailable(&pgconn.PgError{Code: "08006"}))
	require.False(t, store.IsUnavailable(&pgconn.PgError{Code: "23505"}), "a unique violation is the caller's conflict, not an outage")
	require.False(t, store.IsUnavailable(store.ErrNotFound))
	require.False(t, store.IsUnavailable(errors.New("some bug")))
	require.False(t, store.IsUnavailable(nil))
}
