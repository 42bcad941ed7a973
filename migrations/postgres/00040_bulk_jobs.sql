-- +goose Up
-- A bulk job: one reseller's extensions or invitations of many customers,
-- run by the workflow bulk:<id>. Options are the shared fields of every
-- row's onboarding (JSON).
CREATE TABLE bulk_jobs (
    id          text PRIMARY KEY,
    reseller_id text NOT NULL REFERENCES partners (id),
    provider_id text NOT NULL REFERENCES partners (id),
    kind        text NOT NULL,
    status      text NOT NULL,
    options     text NOT NULL,
    total       integer NOT NULL,
    workflow_id text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX bulk_jobs_reseller ON bulk_jobs (reseller_id, id);

-- One row of a job. state is what the job did with it: pending (not yet
-- started), started (its onboarding, subject_id, exists; the outcome is
-- that onboarding's status), refused (broke a rule: code, reason; never
-- started) or skipped (the job was cancelled before it).
CREATE TABLE bulk_job_rows (
    job_id       text NOT NULL REFERENCES bulk_jobs (id),
    row_no       integer NOT NULL,
    provider_id  text NOT NULL,
    customer_id  text NOT NULL DEFAULT '',
    company_name text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    state        text NOT NULL,
    code         text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    subject_id   text NOT NULL DEFAULT '',
    adopted      boolean NOT NULL DEFAULT false,
    started_at   timestamptz,
    PRIMARY KEY (job_id, row_no)
);
CREATE INDEX bulk_job_rows_state ON bulk_job_rows (job_id, state, row_no);
CREATE INDEX bulk_job_rows_customer ON bulk_job_rows (provider_id, customer_id) WHERE state = 'pending';
CREATE INDEX bulk_job_rows_email ON bulk_job_rows (provider_id, email) WHERE state = 'pending';

-- +goose Down
DROP TABLE bulk_job_rows;
DROP TABLE bulk_jobs;
