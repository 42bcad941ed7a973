package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/csp-onboarding/onboarding/migrations"
)

var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// GrantAppRole gives the role the app connects as (Postgres) what it needs
// and no more: it reads and writes the tables, but consent records it may
// only read and append — no UPDATE, DELETE or TRUNCATE — and, not owning
// any table, it cannot ALTER them or disable their triggers. `onboarding
// migrate` runs it as the tables' owner after migrating; it is idempotent,
// so tables added by later migrations are granted on the next run.
func (s *Store) GrantAppRole(ctx context.Context, role string) error {
	if s.dialect != migrations.Postgres {
		return errors.New("an app role exists only on Postgres")
	}
	if !roleName.MatchString(role) {
		return fmt.Errorf("ONBOARDING_DB_APP_ROLE %q must be a plain lower-case role name", role)
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var exists bool
		if err := tx.Raw("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)", role).Scan(&exists).Error; err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("the app role %s does not exist; create it first: CREATE ROLE %s LOGIN PASSWORD '…'", role, role)
		}
		var owner, schema string
		if err := tx.Raw("SELECT tableowner, schemaname FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'consent_records'").
			Row().Scan(&owner, &schema); err != nil {
			return fmt.Errorf("find consent_records (migrate first): %w", err)
		}
		if owner == role {
			return fmt.Errorf("the app role %s owns the tables: run migrate as another role (MIGRATE_DATABASE_URL) so that the app cannot alter consent records", role)
		}
		r, sc := pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
		for _, stmt := range []string{
			"GRANT USAGE ON SCHEMA " + sc + " TO " + r,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + sc + " TO " + r,
			"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + sc + " TO " + r,
			"REVOKE ALL ON " + sc + ".consent_records FROM " + r,
			"GRANT SELECT, INSERT ON " + sc + ".consent_records TO " + r,
			"REVOKE ALL ON " + sc + ".goose_db_version FROM " + r,
			"GRANT SELECT ON " + sc + ".goose_db_version TO " + r,
		} {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return nil
	})
}
