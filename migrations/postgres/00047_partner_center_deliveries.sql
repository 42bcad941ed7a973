-- +goose Up
-- Partner Center webhook deliveries already accepted, by the SHA-256 of
-- their signed body: a replayed delivery is refused (401) even after a
-- restart. A row is kept until expires_at (the event's change time plus the
-- freshness window): past it the same delivery is refused as stale anyway.
-- No event content is kept. See docs/decisions/partner-center-webhooks.md.
CREATE TABLE partner_center_deliveries (
    digest      text PRIMARY KEY,
    expires_at  timestamptz NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX partner_center_deliveries_expiry ON partner_center_deliveries (expires_at);

-- +goose Down
DROP TABLE partner_center_deliveries;
