-- +goose Up
ALTER TABLE customers ADD COLUMN tenant_id text NOT NULL DEFAULT '';

CREATE TABLE customer_tenant_requests (
    id              text PRIMARY KEY,
    reseller_id     text NOT NULL REFERENCES partners (id),
    provider_id     text NOT NULL REFERENCES partners (id),
    company_name    text NOT NULL,
    domain          text NOT NULL,
    contact_email   text NOT NULL,
    bill_to         text NOT NULL,
    status          text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    tenant_id       text NOT NULL DEFAULT '',
    customer_id     text,
    relationship_id text,
    workflow_id     text NOT NULL,
    expires_at      DATETIME NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);
-- One open request per domain.
CREATE UNIQUE INDEX customer_tenant_requests_open_domain ON customer_tenant_requests (lower(domain))
    WHERE status = 'waiting_for_provider';
CREATE INDEX customer_tenant_requests_reseller ON customer_tenant_requests (reseller_id, id);
CREATE INDEX customer_tenant_requests_provider ON customer_tenant_requests (provider_id, id);

ALTER TABLE delegated_admin_relationships ADD COLUMN terminated_at DATETIME;
ALTER TABLE delegated_admin_relationships ADD COLUMN extensions integer NOT NULL DEFAULT 0;
CREATE INDEX delegated_admin_relationships_partner ON delegated_admin_relationships (partner_id, id);

-- +goose Down
DROP INDEX delegated_admin_relationships_partner;
ALTER TABLE delegated_admin_relationships DROP COLUMN extensions;
ALTER TABLE delegated_admin_relationships DROP COLUMN terminated_at;
DROP TABLE customer_tenant_requests;
ALTER TABLE customers DROP COLUMN tenant_id;
