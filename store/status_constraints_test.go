package store_test

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

var quoted = regexp.MustCompile(`'([a-z_]+)'`)

// TestStatusConstraints holds the database to the lifecycle registry: each
// kind's table accepts exactly the registry's statuses (a CHECK constraint on
// Postgres, a CHECK or insert/update triggers on SQLite), and refuses others.
func TestStatusConstraints(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		for _, l := range models.Lifecycles {
			var defs []string
			if st.Dialect() == migrations.Postgres {
				var def string
				err := st.DB().Raw(`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = ? AND conrelid = to_regclass(?)`,
					l.Table+"_status_check", l.Table).Row().Scan(&def)
				if err != nil {
					t.Fatalf("%s: no status constraint: %v", l.Table, err)
				}
				defs = append(defs, def)
			} else {
				rows, err := st.DB().Raw(`SELECT sql FROM sqlite_master WHERE tbl_name = ? AND (name LIKE ? OR (type = 'table' AND sql LIKE '%CHECK (status IN%'))`,
					l.Table, l.Table+"_status_check_%").Rows()
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var sql string
					if err := rows.Scan(&sql); err != nil {
						t.Fatal(err)
					}
					if l.Table == "enrollments" {
						sql = regexp.MustCompile(`CHECK \(status IN \([^)]*\)\)`).FindString(sql)
					}
					defs = append(defs, sql)
				}
				if err := rows.Close(); err != nil {
					t.Fatal(err)
				}
				if want := 2; l.Table != "enrollments" && len(defs) != want {
					t.Fatalf("%s: %d status triggers, want insert and update", l.Table, len(defs))
				}
			}
			if len(defs) == 0 {
				t.Fatalf("%s: no status constraint", l.Table)
			}
			for _, def := range defs {
				var got []string
				for _, m := range quoted.FindAllStringSubmatch(def, -1) {
					if !slices.Contains(got, m[1]) {
						got = append(got, m[1])
					}
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(l.Statuses))
				if !slices.Equal(got, want) {
					t.Errorf("%s (%s): the database allows %v, the registry says %v\n%s", l.Kind, l.Table, got, want, def)
				}
			}
		}
		// And the constraint does refuse: a partnership takes each of its
		// statuses, and not one outside the registry, on insert or update.
		ctx := context.Background()
		now := time.Now().UTC()
		ps := models.Partnership{ID: id(), ProviderID: partner(t, st, models.PartnerTypeIndirectProvider).ID,
			ResellerID: partner(t, st, models.PartnerTypeReseller).ID, Status: "bogus", WorkflowID: "w", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
		if err := st.CreatePartnership(ctx, &ps); err == nil {
			t.Fatal("a partnership with status bogus was inserted")
		}
		ps.Status = models.PartnershipInvited
		if err := st.CreatePartnership(ctx, &ps); err != nil {
			t.Fatal(err)
		}
		for _, status := range models.PartnershipLifecycle.Statuses {
			if err := st.DB().Exec(`UPDATE partnerships SET status = ? WHERE id = ?`, status, ps.ID).Error; err != nil {
				t.Errorf("status %s refused: %v", status, err)
			}
		}
		if err := st.DB().Exec(`UPDATE partnerships SET status = 'bogus' WHERE id = ?`, ps.ID).Error; err == nil {
			t.Error("a partnership's status was set to bogus")
		}
	})
}
