-- +goose Up
-- The bulk job joins the lifecycle registry (models/kinds.go): its table
-- takes only the registry's statuses, as 00010 does for the other kinds.
ALTER TABLE bulk_jobs ADD CONSTRAINT bulk_jobs_status_check CHECK (status IN ('running', 'paused', 'cancelled', 'completed'));

-- +goose Down
ALTER TABLE bulk_jobs DROP CONSTRAINT bulk_jobs_status_check;
