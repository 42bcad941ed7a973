-- +goose Up
-- The customer's language of each onboarding, the partner's default for new
-- ones (empty: none chosen, English). (The HTML part of an e-mail is in 00004.)
ALTER TABLE partners ADD COLUMN locale text NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN locale text NOT NULL DEFAULT 'en';
ALTER TABLE relationship_extensions ADD COLUMN locale text NOT NULL DEFAULT 'en';
ALTER TABLE customer_tenant_requests ADD COLUMN locale text NOT NULL DEFAULT 'en';

-- +goose Down
ALTER TABLE customer_tenant_requests DROP COLUMN locale;
ALTER TABLE relationship_extensions DROP COLUMN locale;
ALTER TABLE invitations DROP COLUMN locale;
ALTER TABLE partners DROP COLUMN locale;
