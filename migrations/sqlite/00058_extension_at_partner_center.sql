-- +goose Up
-- The extension in MICROSOFT_MODE live or simulated (issue 14 item 2):
-- Microsoft has no API for it, so after the consent and the bill-to share
-- the reseller makes it in Partner Center and the extension waits until
-- Partner Center lists the provider on the customer
-- (waiting_for_partner_center). It keeps both partners' tenants, which its
-- workflow reads Partner Center with. The statuses are the lifecycle
-- registry's (models/kinds.go).
ALTER TABLE relationship_extensions ADD COLUMN reseller_tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE relationship_extensions ADD COLUMN provider_tenant_id TEXT NOT NULL DEFAULT '';
DROP TRIGGER relationship_extensions_status_check_update;
DROP TRIGGER relationship_extensions_status_check_insert;
-- +goose StatementBegin
CREATE TRIGGER relationship_extensions_status_check_insert BEFORE INSERT ON relationship_extensions
WHEN NEW.status NOT IN ('waiting_for_consent', 'waiting_for_partner_center', 'consent_declined', 'expired', 'cancelled', 'completed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationship_extensions_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER relationship_extensions_status_check_update BEFORE UPDATE OF status ON relationship_extensions
WHEN NEW.status NOT IN ('waiting_for_consent', 'waiting_for_partner_center', 'consent_declined', 'expired', 'cancelled', 'completed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationship_extensions_status_check');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER relationship_extensions_status_check_update;
DROP TRIGGER relationship_extensions_status_check_insert;
-- +goose StatementBegin
CREATE TRIGGER relationship_extensions_status_check_insert BEFORE INSERT ON relationship_extensions
WHEN NEW.status NOT IN ('waiting_for_consent', 'consent_declined', 'expired', 'cancelled', 'completed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationship_extensions_status_check');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER relationship_extensions_status_check_update BEFORE UPDATE OF status ON relationship_extensions
WHEN NEW.status NOT IN ('waiting_for_consent', 'consent_declined', 'expired', 'cancelled', 'completed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: relationship_extensions_status_check');
END;
-- +goose StatementEnd
ALTER TABLE relationship_extensions DROP COLUMN provider_tenant_id;
ALTER TABLE relationship_extensions DROP COLUMN reseller_tenant_id;
