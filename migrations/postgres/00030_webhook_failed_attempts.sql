-- +goose Up
-- Failed attempts since the endpoint's last success: what the Temporal UI's
-- view of a failing endpoint (the webhook-endpoint:<id> workflow) reports.
ALTER TABLE webhook_endpoints ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN failed_attempts;
