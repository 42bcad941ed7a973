-- +goose Up
-- Consent records are read and appended by the app only. The app's own role
-- gets SELECT and INSERT from `onboarding migrate` (ONBOARDING_DB_APP_ROLE);
-- nobody else gets anything by default.
REVOKE ALL ON consent_records FROM PUBLIC;

-- +goose Down
SELECT 1;
