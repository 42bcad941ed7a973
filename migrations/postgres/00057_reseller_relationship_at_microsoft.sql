-- +goose Up
-- The customer's acceptance at Microsoft (MICROSOFT_MODE live or simulated,
-- issue 14): after accepting on our page the invitation waits for Partner
-- Center (waiting_for_partner_center). It keeps Microsoft's acceptance link,
-- which the customer page shows, and the customer's tenant, by which the
-- Partner Center webhooks find it. The statuses are the lifecycle
-- registry's (models/kinds.go).
ALTER TABLE invitations ADD COLUMN microsoft_accept_url TEXT NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN customer_tenant_id TEXT NOT NULL DEFAULT '';
CREATE INDEX invitations_customer_tenant ON invitations (customer_tenant_id) WHERE customer_tenant_id <> '';
ALTER TABLE invitations DROP CONSTRAINT invitations_status_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_status_check CHECK (status IN ('waiting_for_customer', 'accepted', 'waiting_for_partner_center', 'completed', 'declined', 'expired', 'cancelled', 'failed'));

-- +goose Down
ALTER TABLE invitations DROP CONSTRAINT invitations_status_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_status_check CHECK (status IN ('waiting_for_customer', 'accepted', 'completed', 'declined', 'expired', 'cancelled', 'failed'));
DROP INDEX invitations_customer_tenant;
ALTER TABLE invitations DROP COLUMN customer_tenant_id;
ALTER TABLE invitations DROP COLUMN microsoft_accept_url;
