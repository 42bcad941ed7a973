-- +goose Up
-- GDAP through Microsoft Graph (MICROSOFT_MODE live or simulated): a
-- delegated admin row waits for the customer's approval at Microsoft
-- (approval_pending) or ends when Microsoft refuses it (failed); it keeps the
-- Graph relationship's id, by which the Partner Center webhooks find it.
-- The statuses are the lifecycle registry's (models/kinds.go).
ALTER TABLE delegated_admin_relationships ADD COLUMN graph_relationship_id text;
CREATE UNIQUE INDEX delegated_admin_relationships_graph_id ON delegated_admin_relationships (graph_relationship_id)
    WHERE graph_relationship_id IS NOT NULL;
ALTER TABLE delegated_admin_relationships DROP CONSTRAINT delegated_admin_relationships_status_check;
ALTER TABLE delegated_admin_relationships ADD CONSTRAINT delegated_admin_relationships_status_check
    CHECK (status IN ('approval_pending', 'active', 'expired', 'terminated', 'failed'));

-- +goose Down
ALTER TABLE delegated_admin_relationships DROP CONSTRAINT delegated_admin_relationships_status_check;
ALTER TABLE delegated_admin_relationships ADD CONSTRAINT delegated_admin_relationships_status_check CHECK (status IN ('active', 'expired', 'terminated'));
DROP INDEX delegated_admin_relationships_graph_id;
ALTER TABLE delegated_admin_relationships DROP COLUMN graph_relationship_id;
