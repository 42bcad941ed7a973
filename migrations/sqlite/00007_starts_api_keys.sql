-- +goose Up
-- An onboarding's workflow start that is not yet confirmed: written in the
-- same transaction as the onboarding's row, deleted once Temporal has the
-- workflow. The sweeper starts what is left here after a crash.
CREATE TABLE workflow_starts (
    workflow_id text PRIMARY KEY,
    kind        text NOT NULL,
    subject_id  text NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE INDEX workflow_starts_created ON workflow_starts (created_at);

-- Every row still waiting is checked once by the first sweep: rows that
-- lost their start before this version are found and started.
INSERT INTO workflow_starts (workflow_id, kind, subject_id, created_at)
    SELECT workflow_id, 'partnership', id, created_at FROM partnerships WHERE status = 'invited';
INSERT INTO workflow_starts (workflow_id, kind, subject_id, created_at)
    SELECT workflow_id, 'invitation', id, created_at FROM invitations WHERE status = 'waiting_for_customer';
INSERT INTO workflow_starts (workflow_id, kind, subject_id, created_at)
    SELECT workflow_id, 'extension', id, created_at FROM relationship_extensions WHERE status = 'waiting_for_consent';
INSERT INTO workflow_starts (workflow_id, kind, subject_id, created_at)
    SELECT workflow_id, 'tenant_request', id, created_at FROM customer_tenant_requests WHERE status = 'waiting_for_provider';
INSERT INTO workflow_starts (workflow_id, kind, subject_id, created_at)
    SELECT workflow_id, 'enrollment', partner_id, submitted_at FROM enrollments WHERE status = 'submitted';

-- What a partner-attested extension's workflow needs, so that it can be
-- started again from its row (JSON: signer, obtained_at, evidence).
ALTER TABLE relationship_extensions ADD COLUMN attestation text;

-- A partner's API keys (at most two active): SHA-256 of the key, never the key.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    partner_id   text NOT NULL REFERENCES partners (id),
    hash         text NOT NULL UNIQUE,
    last4        text NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME,
    last_used_at DATETIME,
    revoked_at   DATETIME
);
CREATE INDEX api_keys_partner ON api_keys (partner_id);
INSERT INTO api_keys (id, partner_id, hash, created_at)
    SELECT 'key-' || id, id, api_key_hash, created_at FROM partners;
-- partners.api_key_hash is no longer read; it keeps a unique placeholder so
-- that its NOT NULL UNIQUE constraint holds without a credential in it.
UPDATE partners SET api_key_hash = 'api_keys:' || id;
ALTER TABLE partners ADD COLUMN disabled_at DATETIME;

-- A resend replaces the invitation's earlier links: they are closed and
-- marked, so their page says a newer link was sent.
ALTER TABLE link_tokens ADD COLUMN superseded_at DATETIME;

-- +goose Down
ALTER TABLE link_tokens DROP COLUMN superseded_at;
UPDATE partners SET api_key_hash = (SELECT hash FROM api_keys k WHERE k.partner_id = partners.id AND k.revoked_at IS NULL ORDER BY k.created_at LIMIT 1)
    WHERE EXISTS (SELECT 1 FROM api_keys k WHERE k.partner_id = partners.id AND k.revoked_at IS NULL);
ALTER TABLE partners DROP COLUMN disabled_at;
DROP TABLE api_keys;
ALTER TABLE relationship_extensions DROP COLUMN attestation;
DROP TABLE workflow_starts;
