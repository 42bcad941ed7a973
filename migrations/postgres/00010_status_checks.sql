-- +goose Up
-- Each onboarding table takes only the statuses of its kind in the lifecycle
-- registry (models/kinds.go); enrollments has had its CHECK since 00002.
-- store's TestStatusConstraints compares these lists with the registry, so a
-- new status is the registry, the spec and a migration that replaces the
-- table's constraint.
ALTER TABLE partnerships ADD CONSTRAINT partnerships_status_check CHECK (status IN ('invited', 'active', 'declined', 'expired', 'removed'));
ALTER TABLE invitations ADD CONSTRAINT invitations_status_check CHECK (status IN ('waiting_for_customer', 'accepted', 'completed', 'declined', 'expired', 'cancelled', 'failed'));
ALTER TABLE relationship_extensions ADD CONSTRAINT relationship_extensions_status_check CHECK (status IN ('waiting_for_consent', 'consent_declined', 'expired', 'cancelled', 'completed', 'failed'));
ALTER TABLE customer_tenant_requests ADD CONSTRAINT customer_tenant_requests_status_check CHECK (status IN ('waiting_for_provider', 'approved', 'completed', 'rejected', 'expired', 'failed'));
ALTER TABLE relationships ADD CONSTRAINT relationships_status_check CHECK (status IN ('active', 'terminated'));
ALTER TABLE delegated_admin_relationships ADD CONSTRAINT delegated_admin_relationships_status_check CHECK (status IN ('active', 'expired', 'terminated'));

-- +goose Down
ALTER TABLE delegated_admin_relationships DROP CONSTRAINT delegated_admin_relationships_status_check;
ALTER TABLE relationships DROP CONSTRAINT relationships_status_check;
ALTER TABLE customer_tenant_requests DROP CONSTRAINT customer_tenant_requests_status_check;
ALTER TABLE relationship_extensions DROP CONSTRAINT relationship_extensions_status_check;
ALTER TABLE invitations DROP CONSTRAINT invitations_status_check;
ALTER TABLE partnerships DROP CONSTRAINT partnerships_status_check;
