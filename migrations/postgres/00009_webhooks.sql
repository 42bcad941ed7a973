-- +goose Up
-- A partner's subscriptions. The signing secret is kept sealed (AES-GCM under
-- ONBOARDING_SECRET_KEY); after a rotation the previous one keeps signing
-- until previous_secret_until, so receivers can switch over.
CREATE TABLE webhook_endpoints (
    id                     text PRIMARY KEY,
    partner_id             text NOT NULL REFERENCES partners (id),
    url                    text NOT NULL,
    description            text NOT NULL DEFAULT '',
    events                 text NOT NULL,
    secret_sealed          text NOT NULL,
    previous_secret_sealed text NOT NULL DEFAULT '',
    previous_secret_until  timestamptz,
    enabled                boolean NOT NULL,
    disabled_reason        text NOT NULL DEFAULT '',
    failing_since          timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_partner ON webhook_endpoints (partner_id, id);

-- The outbox: one row per (endpoint, timeline event, catalogue type), written
-- in the transaction that writes the event. object_id/seq/part order the
-- deliveries of one object; lease_until marks a row a dispatcher is sending.
CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    object_id        text NOT NULL,
    seq              integer NOT NULL,
    part             integer NOT NULL,
    type             text NOT NULL,
    payload          text NOT NULL,
    event_at         timestamptz NOT NULL,
    status           text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    last_status_code integer NOT NULL DEFAULT 0,
    last_response    text NOT NULL DEFAULT '',
    last_error       text NOT NULL DEFAULT '',
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_object ON webhook_deliveries (endpoint_id, object_id, seq, part);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
