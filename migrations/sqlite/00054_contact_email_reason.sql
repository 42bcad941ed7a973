-- +goose Up
-- The reseller's reason for a contact address that is not plainly the
-- customer's (rules.CheckContact, audit §4), kept with what it let through.
ALTER TABLE invitations ADD COLUMN contact_email_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN contact_email_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE customers DROP COLUMN contact_email_reason;
ALTER TABLE invitations DROP COLUMN contact_email_reason;
