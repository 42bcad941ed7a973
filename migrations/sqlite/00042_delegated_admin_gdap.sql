-- +goose Up
-- GDAP through Microsoft Graph (MICROSOFT_MODE live or simulated): a
-- delegated admin row waits for the customer's approval at Microsoft
-- (approval_pending) or ends when Microsoft refuses it (failed); it keeps the
-- Graph relationship's id, by which the Partner Center webhooks find it.
-- The statuses are the lifecycle registry's (models/kinds.go); triggers, as
-- in 00010, since SQLite cannot change a CHECK.
ALTER TABLE delegated_admin_relationships ADD COLUMN graph_relationship_id text;
CREATE UNIQUE INDEX delegated_admin_relationships_graph_id ON delegated_admin_relationships (graph_relationship_id)
    WHERE graph_relationship_id IS NOT NULL;
DROP TRIGGER delegated_admin_relationships_status_check_update;
DROP TRIGGER delegated_admin_relationships_status_check_insert;
-- +goose StatementBegin
CREATE TRIGGER delegated_admin_relationships_status_check_insert BEFORE INSERT ON delegated_admin_relationships
WHEN NEW.status NOT IN ('approval_pending', 'active', 'expired', 'terminated', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: delegated_admin_relationships_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER delegated_admin_relationships_status_check_update BEFORE UPDATE OF status ON delegated_admin_relationships
WHEN NEW.status NOT IN ('approval_pending', 'active', 'expired', 'terminated', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: delegated_admin_relationships_status_check');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER delegated_admin_relationships_status_check_update;
DROP TRIGGER delegated_admin_relationships_status_check_insert;
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
DROP INDEX delegated_admin_relationships_graph_id;
ALTER TABLE delegated_admin_relationships DROP COLUMN graph_relationship_id;
