-- +goose Up
-- The e-mail that carried a personal link (its outbox key): an answer through
-- the link proves that e-mail arrived, even when its delivery never reported.
ALTER TABLE link_tokens ADD COLUMN email_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE link_tokens DROP COLUMN email_key;
