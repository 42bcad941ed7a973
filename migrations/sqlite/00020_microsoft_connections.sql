-- +goose Up
-- A partner's app registration for Microsoft Graph (GDAP). The client secret
-- is kept sealed (AES-GCM under ONBOARDING_SECRET_KEY, bound to the partner)
-- and never answered; last_success_at is the last call Microsoft accepted.
CREATE TABLE microsoft_connections (
    partner_id      text PRIMARY KEY REFERENCES partners (id),
    tenant_id       text NOT NULL,
    client_id       text NOT NULL,
    secret_sealed   text NOT NULL,
    status          text NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    last_success_at DATETIME,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);

-- The access assignments a partner's GDAP relationships get once active:
-- security group id -> roleDefinitionIds, as JSON.
CREATE TABLE delegated_admin_assignment_configs (
    partner_id  text PRIMARY KEY REFERENCES partners (id),
    assignments text NOT NULL,
    updated_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE delegated_admin_assignment_configs;
DROP TABLE microsoft_connections;
