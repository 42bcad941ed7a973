-- +goose Up
-- The bulk job joins the lifecycle registry (models/kinds.go): its table
-- takes only the registry's statuses, as 00010 does for the other kinds
-- (triggers: SQLite cannot add a CHECK to an existing table).
-- +goose StatementBegin
CREATE TRIGGER bulk_jobs_status_check_insert BEFORE INSERT ON bulk_jobs
WHEN NEW.status NOT IN ('running', 'paused', 'cancelled', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: bulk_jobs_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER bulk_jobs_status_check_update BEFORE UPDATE OF status ON bulk_jobs
WHEN NEW.status NOT IN ('running', 'paused', 'cancelled', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: bulk_jobs_status_check');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER bulk_jobs_status_check_update;
DROP TRIGGER bulk_jobs_status_check_insert;
