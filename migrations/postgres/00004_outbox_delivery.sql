-- +goose Up
-- Outbox bodies keep the {{link}} placeholder; the personal link is kept only
-- sealed (AES-GCM, ONBOARDING_SECRET_KEY) while its e-mail is pending, and
-- erased once it is sent, fails for good, or its process closes its links.
ALTER TABLE outbox_messages ADD COLUMN html_body text NOT NULL DEFAULT '';
ALTER TABLE outbox_messages ADD COLUMN sealed_link text;
ALTER TABLE outbox_messages ADD COLUMN link_subject_id text NOT NULL DEFAULT '';
CREATE INDEX outbox_messages_link_subject ON outbox_messages (link_subject_id) WHERE sealed_link IS NOT NULL;

-- +goose Down
DROP INDEX outbox_messages_link_subject;
ALTER TABLE outbox_messages DROP COLUMN link_subject_id;
ALTER TABLE outbox_messages DROP COLUMN sealed_link;
ALTER TABLE outbox_messages DROP COLUMN html_body;
