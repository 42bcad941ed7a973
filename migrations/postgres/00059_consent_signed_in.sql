-- +goose Up
-- A consent given by an administrator signed in with Microsoft (MICROSOFT_MODE
-- live or simulated, issue 14 item 4) keeps who signed in: the tenant and the
-- user's object id (the name and UPN are the record's signer).
ALTER TABLE consent_records ADD COLUMN signed_in_tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE consent_records ADD COLUMN signed_in_object_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE consent_records DROP COLUMN signed_in_object_id;
ALTER TABLE consent_records DROP COLUMN signed_in_tenant_id;
