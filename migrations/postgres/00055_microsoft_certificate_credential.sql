-- +goose Up
-- A connection's credential is a client secret or a certificate with its
-- private key (either sealed in secret_sealed); the thumbprint and expiry are
-- public and shown so the partner can match the app registration and renew.
ALTER TABLE microsoft_connections ADD COLUMN credential TEXT NOT NULL DEFAULT 'client_secret'
    CHECK (credential IN ('client_secret', 'certificate'));
ALTER TABLE microsoft_connections ADD COLUMN certificate_thumbprint TEXT NOT NULL DEFAULT '';
ALTER TABLE microsoft_connections ADD COLUMN certificate_expires_at timestamptz;

-- +goose Down
ALTER TABLE microsoft_connections DROP COLUMN certificate_expires_at;
ALTER TABLE microsoft_connections DROP COLUMN certificate_thumbprint;
ALTER TABLE microsoft_connections DROP COLUMN credential;
