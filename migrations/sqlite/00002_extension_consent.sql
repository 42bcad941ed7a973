-- +goose Up
ALTER TABLE customers ADD COLUMN bill_to text;
-- A domain belongs to one customer.
CREATE UNIQUE INDEX customers_domain ON customers (lower(domain)) WHERE domain <> '';

CREATE TABLE enrollments (
    partner_id   text PRIMARY KEY REFERENCES partners (id),
    status       text NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected')),
    workflow_id  text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    submitted_at DATETIME NOT NULL,
    decided_at   DATETIME,
    updated_at   DATETIME NOT NULL
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
    expires_at      DATETIME NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
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
    obtained_at  DATETIME NOT NULL,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    text_shown   text NOT NULL,
    evidence     text NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL
);
-- +goose StatementBegin
CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
BEGIN
    SELECT RAISE(ABORT, 'consent records are append-only: UPDATE is not allowed');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
BEGIN
    SELECT RAISE(ABORT, 'consent records are append-only: DELETE is not allowed');
END;
-- +goose StatementEnd

-- A bill-to share exists only with a consent record.
CREATE TABLE bill_to_shares (
    id          text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id),
    provider_id text NOT NULL REFERENCES partners (id),
    reseller_id text NOT NULL REFERENCES partners (id),
    consent_id  text NOT NULL REFERENCES consent_records (id),
    snapshot    text NOT NULL,
    created_at  DATETIME NOT NULL,
    UNIQUE (customer_id, provider_id)
);

-- An extension's relationship exists only with a consent record.
-- (SQLite: a column CHECK; no REFERENCES, so that Down can drop the column.)
ALTER TABLE relationships ADD COLUMN consent_id text
    CHECK (source <> 'extension' OR consent_id IS NOT NULL);

-- +goose Down
ALTER TABLE relationships DROP COLUMN consent_id;
DROP TABLE bill_to_shares;
DROP TABLE consent_records;
DROP TABLE relationship_extensions;
DROP TABLE enrollments;
DROP INDEX customers_domain;
ALTER TABLE customers DROP COLUMN bill_to;
