-- +goose Up
-- Each onboarding table takes only the statuses of its kind in the lifecycle
-- registry (models/kinds.go); enrollments has had its CHECK since 00002.
-- store's TestStatusConstraints compares these lists with the registry, so a
-- new status is the registry, the spec and a migration that replaces the
-- table's constraint.
-- SQLite cannot add a CHECK to an existing table without rebuilding it (and
-- the tables that reference it); triggers on insert and on update of status
-- refuse the same values.
-- +goose StatementBegin
CREATE TRIGGER partnerships_status_check_insert BEFORE INSERT ON partnerships
WHEN NEW.status NOT IN ('invited', 'active', 'declined', 'expired', 'removed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: partnerships_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER partnerships_status_check_update BEFORE UPDATE OF status ON partnerships
WHEN NEW.status NOT IN ('invited', 'active', 'declined', 'expired', 'removed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: partnerships_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invitations_status_check_insert BEFORE INSERT ON invitations
WHEN NEW.status NOT IN ('waiting_for_customer', 'accepted', 'completed', 'declined', 'expired', 'cancelled', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: invitations_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invitations_status_check_update BEFORE UPDATE OF status ON invitations
WHEN NEW.status NOT IN ('waiting_for_customer', 'accepted', 'completed', 'declined', 'expired', 'cancelled', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: invitations_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER relationship_extensions_status_check_insert BEFORE INSERT ON relationship_extensions
WHEN NEW.status NOT IN ('waiting_for_consent', 'consent_declined', 'expired', 'cancelled', 'completed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationship_extensions_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER relationship_extensions_status_check_update BEFORE UPDATE OF status ON relationship_extensions
WHEN NEW.status NOT IN ('waiting_for_consent', 'consent_declined', 'expired', 'cancelled', 'completed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationship_extensions_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER customer_tenant_requests_status_check_insert BEFORE INSERT ON customer_tenant_requests
WHEN NEW.status NOT IN ('waiting_for_provider', 'approved', 'completed', 'rejected', 'expired', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: customer_tenant_requests_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER customer_tenant_requests_status_check_update BEFORE UPDATE OF status ON customer_tenant_requests
WHEN NEW.status NOT IN ('waiting_for_provider', 'approved', 'completed', 'rejected', 'expired', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: customer_tenant_requests_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER relationships_status_check_insert BEFORE INSERT ON relationships
WHEN NEW.status NOT IN ('active', 'terminated')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationships_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER relationships_status_check_update BEFORE UPDATE OF status ON relationships
WHEN NEW.status NOT IN ('active', 'terminated')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationships_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER delegated_admin_relationships_status_check_insert BEFORE INSERT ON delegated_admin_relationships
WHEN NEW.status NOT IN ('active', 'expired', 'terminated')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: delegated_admin_relationships_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER delegated_admin_relationships_status_check_update BEFORE UPDATE OF status ON delegated_admin_relationships
WHEN NEW.status NOT IN ('active', 'expired', 'terminated')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: delegated_admin_relationships_status_check');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER delegated_admin_relationships_status_check_update;
DROP TRIGGER delegated_admin_relationships_status_check_insert;
DROP TRIGGER relationships_status_check_update;
DROP TRIGGER relationships_status_check_insert;
DROP TRIGGER customer_tenant_requests_status_check_update;
DROP TRIGGER customer_tenant_requests_status_check_insert;
DROP TRIGGER relationship_extensions_status_check_update;
DROP TRIGGER relationship_extensions_status_check_insert;
DROP TRIGGER invitations_status_check_update;
DROP TRIGGER invitations_status_check_insert;
DROP TRIGGER partnerships_status_check_update;
DROP TRIGGER partnerships_status_check_insert;
