-- +goose Up
ALTER TABLE customers ADD COLUMN bill_to text;
-- A domain belongs to one customer.
CREATE UNIQUE INDEX customers_domain ON customers (lower(domain)) WHERE domain <> '';

CREATE TABLE enrollments (
    partner_id   text PRIMARY KEY REFERENCES partners (id),
    status       text NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected')),
    workflow_id  text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    submitted_at timestamptz NOT NULL,
    decided_at   timestamptz,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE relationship_extensions (
    id              text PRIMARY KEY,
    reseller_id     text NOT NULL REFERENCES partners (id),
    provider_id     text NOT NULL REFERENCES partners (id),
    customer_id     text NOT NULL REFERENCES customers (id),
    status          text NOT NULL,
    consent_method  text NOT NULL,
    consent_id      text,
    relationship_id text,
    workflow_id     text NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
-- One extension at a time may wait on a customer for a provider.
CREATE UNIQUE INDEX relationship_extensions_open ON relationship_extensions (customer_id, provider_id)
    WHERE status = 'waiting_for_consent';
CREATE INDEX relationship_extensions_reseller ON relationship_extensions (reseller_id, id);

-- Consent evidence: written once, never updated or deleted.
CREATE TABLE consent_records (
    id           text PRIMARY KEY,
    extension_id text NOT NULL UNIQUE REFERENCES relationship_extensions (id),
    customer_id  text NOT NULL REFERENCES customers (id),
    provider_id  text NOT NULL REFERENCES partners (id),
    reseller_id  text NOT NULL REFERENCES partners (id),
    subject      text NOT NULL,
    method       text NOT NULL CHECK (method IN ('customer_confirmation', 'partner_attestation')),
    signer_name  text NOT NULL DEFAULT '',
    signer_email text NOT NULL,
    obtained_at  timestamptz NOT NULL,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    text_shown   text NOT NULL,
    evidence     text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
-- +goose StatementBegin
CREATE FUNCTION consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent records are append-only: % is not allowed', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER consent_records_no_change BEFORE UPDATE OR DELETE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION consent_records_append_only();
CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
    FOR EACH STATEMENT EXECUTE FUNCTION consent_records_append_only();

-- A bill-to share exists only with a consent record.
CREATE TABLE bill_to_shares (
    id          text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id),
    provider_id text NOT NULL REFERENCES partners (id),
    reseller_id text NOT NULL REFERENCES partners (id),
    consent_id  text NOT NULL REFERENCES consent_records (id),
    snapshot    text NOT NULL,
    created_at  timestamptz NOT NULL,
    UNIQUE (customer_id, provider_id)
);

-- An extension's relationship exists only with a consent record.
ALTER TABLE relationships ADD COLUMN consent_id text REFERENCES consent_records (id);
ALTER TABLE relationships ADD CONSTRAINT relationships_extension_needs_consent
    CHECK (source <> 'extension' OR consent_id IS NOT NULL);

-- +goose Down
ALTER TABLE relationships DROP CONSTRAINT relationships_extension_needs_consent;
ALTER TABLE relationships DROP COLUMN consent_id;
DROP TABLE bill_to_shares;
DROP TABLE consent_records;
DROP FUNCTION consent_records_append_only();
DROP TABLE relationship_extensions;
DROP TABLE enrollments;
DROP INDEX customers_domain;
ALTER TABLE customers DROP COLUMN bill_to;
