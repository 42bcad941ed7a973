-- The role the api and worker connect as. It owns nothing: `onboarding
-- migrate` (as the owner, "onboarding") grants it the tables, but only
-- SELECT and INSERT on consent_records, so the app cannot rewrite consent
-- evidence nor disable the triggers that keep it append-only.
-- Runs once, when the Postgres volume is created. Change the password for
-- anything but a local trial (and DATABASE_URL in docker-compose.yml with it).
CREATE ROLE onboarding_app LOGIN PASSWORD 'onboarding_app';
