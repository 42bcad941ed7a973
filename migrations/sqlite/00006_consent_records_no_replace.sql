-- +goose Up
-- Consent records are append-only (00002 refuses UPDATE and DELETE), but
-- SQLite's INSERT OR REPLACE / REPLACE deletes the old row through conflict
-- resolution without firing delete triggers. An insert that names an existing
-- record or extension is therefore ignored: the first record stays, and the
-- idempotent retry of RecordConsent (ON CONFLICT DO NOTHING) still returns it.
-- +goose StatementBegin
CREATE TRIGGER consent_records_no_replace BEFORE INSERT ON consent_records
WHEN EXISTS (SELECT 1 FROM consent_records WHERE id = NEW.id OR extension_id = NEW.extension_id)
BEGIN
    SELECT RAISE(IGNORE);
END;
-- +goose StatementEnd

-- relationships.consent_id must name a consent record. A REFERENCES clause
-- would need a rebuild of relationships, which delegated_admin_relationships
-- references, inside goose's transaction with foreign keys on; since consent
-- records can never be deleted, checking on insert and update is the same
-- guarantee.
-- +goose StatementBegin
CREATE TRIGGER relationships_consent_exists_insert BEFORE INSERT ON relationships
WHEN NEW.consent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM consent_records WHERE id = NEW.consent_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: relationships.consent_id names no consent record');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER relationships_consent_exists_update BEFORE UPDATE OF consent_id ON relationships
WHEN NEW.consent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM consent_records WHERE id = NEW.consent_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: relationships.consent_id names no consent record');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER relationships_consent_exists_update;
DROP TRIGGER relationships_consent_exists_insert;
DROP TRIGGER consent_records_no_replace;
