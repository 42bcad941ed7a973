-- +goose Up
-- A reseller relationship can be ended by a party to it (POST
-- /v1/relationships/{id}/end): when, by whom and why.
ALTER TABLE relationships ADD COLUMN ended_at DATETIME;
ALTER TABLE relationships ADD COLUMN ended_by text NOT NULL DEFAULT '';
ALTER TABLE relationships ADD COLUMN end_reason text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE relationships DROP COLUMN end_reason;
ALTER TABLE relationships DROP COLUMN ended_by;
ALTER TABLE relationships DROP COLUMN ended_at;
