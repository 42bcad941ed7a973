-- +goose Up
CREATE TABLE partners (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    type              text NOT NULL CHECK (type IN ('indirect_provider', 'reseller')),
    direct_bill       boolean NOT NULL DEFAULT false,
    contact_email     text NOT NULL,
    api_key_hash      text NOT NULL UNIQUE,
    enrollment_status text NOT NULL DEFAULT 'not_enrolled',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

CREATE TABLE partnerships (
    id          text PRIMARY KEY,
    provider_id text NOT NULL REFERENCES partners (id),
    reseller_id text NOT NULL REFERENCES partners (id),
    status      text NOT NULL,
    workflow_id text NOT NULL,
    expires_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- One open or active partnership per pair: a second invite is a conflict.
CREATE UNIQUE INDEX partnerships_open_pair ON partnerships (provider_id, reseller_id)
    WHERE status IN ('invited', 'active');
CREATE INDEX partnerships_reseller ON partnerships (reseller_id);

CREATE TABLE customers (
    id            text PRIMARY KEY,
    company_name  text NOT NULL,
    domain        text NOT NULL DEFAULT '',
    contact_email text NOT NULL,
    acquired_via  text NOT NULL CHECK (acquired_via IN ('direct_bill', 'invitation', 'tenant_request')),
    created_by    text NOT NULL REFERENCES partners (id),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE customer_partners (
    customer_id text NOT NULL REFERENCES customers (id),
    partner_id  text NOT NULL REFERENCES partners (id),
    role        text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (customer_id, partner_id)
);
CREATE INDEX customer_partners_partner ON customer_partners (partner_id);

CREATE TABLE invitations (
    id               text PRIMARY KEY,
    reseller_id      text NOT NULL REFERENCES partners (id),
    provider_id      text NOT NULL REFERENCES partners (id),
    customer_id      text REFERENCES customers (id),
    customer_company text NOT NULL DEFAULT '',
    customer_email   text NOT NULL,
    message          text NOT NULL DEFAULT '',
    delegated_admin  text,
    status           text NOT NULL,
    relationship_id  text,
    workflow_id      text NOT NULL,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX invitations_reseller_status ON invitations (reseller_id, status, id);

CREATE TABLE onboarding_events (
    id         text PRIMARY KEY,
    subject_id text NOT NULL,
    seq        integer NOT NULL,
    type       text NOT NULL,
    at         timestamptz NOT NULL,
    details    text,
    UNIQUE (subject_id, seq)
);

CREATE TABLE relationships (
    id              text PRIMARY KEY,
    customer_id     text NOT NULL REFERENCES customers (id),
    provider_id     text NOT NULL REFERENCES partners (id),
    reseller_id     text NOT NULL REFERENCES partners (id),
    source          text NOT NULL CHECK (source IN ('invitation', 'extension', 'tenant_request')),
    source_id       text NOT NULL,
    delegated_admin boolean NOT NULL DEFAULT false,
    status          text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
-- docs/domain.md: at most one active reseller relationship per triple.
CREATE UNIQUE INDEX relationships_active_triple ON relationships (customer_id, provider_id, reseller_id)
    WHERE status = 'active';
CREATE INDEX relationships_reseller ON relationships (reseller_id, id);
CREATE INDEX relationships_provider ON relationships (provider_id, id);

CREATE TABLE delegated_admin_relationships (
    id              text PRIMARY KEY,
    relationship_id text NOT NULL REFERENCES relationships (id),
    customer_id     text NOT NULL REFERENCES customers (id),
    partner_id      text NOT NULL REFERENCES partners (id),
    roles           text NOT NULL,
    duration_days   integer NOT NULL CHECK (duration_days BETWEEN 1 AND 730),
    auto_extend     boolean NOT NULL DEFAULT false,
    status          text NOT NULL,
    activated_at    timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE link_tokens (
    hash       text PRIMARY KEY,
    purpose    text NOT NULL,
    subject_id text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX link_tokens_subject ON link_tokens (subject_id);

CREATE TABLE outbox_messages (
    key        text PRIMARY KEY,
    to_addr    text NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    status     text NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT '',
    sent_at    timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE idempotency_keys (
    partner_id   text NOT NULL,
    key          text NOT NULL,
    operation    text NOT NULL,
    request_hash text NOT NULL,
    resource_id  text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (partner_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE outbox_messages;
DROP TABLE link_tokens;
DROP TABLE delegated_admin_relationships;
DROP TABLE relationships;
DROP TABLE onboarding_events;
DROP TABLE invitations;
DROP TABLE customer_partners;
DROP TABLE customers;
DROP TABLE partnerships;
DROP TABLE partners;
