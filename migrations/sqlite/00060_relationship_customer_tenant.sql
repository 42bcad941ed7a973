-- +goose Up
-- A relationship carries its customer's Microsoft tenant, as the customer
-- had it when the relationship was made (after the acceptance at Microsoft,
-- issue 14; a tenant request's tenant): partners read it without a second call.
ALTER TABLE relationships ADD COLUMN customer_tenant_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE relationships DROP COLUMN customer_tenant_id;
