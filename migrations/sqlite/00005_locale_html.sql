-- +goose Up
-- The customer's language of each onboarding, the partner's default for new
-- ones (empty: none chosen, English), and the HTML part of an e-mail.
ALTER TABLE partners ADD COLUMN locale text NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN locale text NOT NULL DEFAULT 'en';
ALTER TABLE relationship_extensions ADD COLUMN locale text NOT NULL DEFAULT 'en';
ALTER TABLE customer_tenant_requests ADD COLUMN locale text NOT NULL DEFAULT 'en';
ALTER TABLE outbox_messages ADD COLUMN html_body text;

-- +goose Down
ALTER TABLE outbox_messages DROP COLUMN html_body;
ALTER TABLE customer_tenant_requests DROP COLUMN locale;
ALTER TABLE relationship_extensions DROP COLUMN locale;
ALTER TABLE invitations DROP COLUMN locale;
ALTER TABLE partners DROP COLUMN locale;
