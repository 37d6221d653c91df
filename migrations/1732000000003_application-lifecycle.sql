-- Up Migration

-- Why the last role change failed, as a stable type (unknown_member, missing_permissions, ...): the
-- workflow re-checks missing members by it, and a new connection re-drives connection failures by it.
ALTER TABLE applications ADD COLUMN discord_role_assignment_error_type text;

-- Rows written before the type was stored: recover it from the sentence where it is unambiguous.
UPDATE applications SET discord_role_assignment_error_type = CASE
    WHEN discord_role_assignment_error LIKE 'Invalid Discord User ID format%' THEN 'invalid_discord_id'
    WHEN discord_role_assignment_error LIKE 'The applicant has not joined the Discord server yet%' THEN 'unknown_member'
    WHEN discord_role_assignment_error LIKE 'Discord is not connected for this organization%' THEN 'discord_not_connected'
    WHEN discord_role_assignment_error LIKE 'The bot is no longer in the Discord server%' THEN 'unknown_guild'
    WHEN discord_role_assignment_error LIKE 'The bot can no longer access the Discord server%' THEN 'missing_access'
    WHEN discord_role_assignment_error LIKE 'The bot lacks permission to manage this role%' THEN 'missing_permissions'
    WHEN discord_role_assignment_error LIKE 'The Approved role no longer exists%' THEN 'unknown_role'
  END
WHERE discord_role_assignment_status = 'failed';

-- Only the (status, role status) pairs the application state machine can reach
-- (src/domain/application-lifecycle.ts, reachablePairs; a test compares the two).
ALTER TABLE applications ADD CONSTRAINT applications_reachable_state CHECK (
  (status, discord_role_assignment_status) IN (
    ('Pending'::application_status, 'not_applicable'::role_assignment_status),
    ('Approved', 'not_applicable'),
    ('approved_pending_role', 'pending'),
    ('approved_role_assigned', 'success'),
    ('approved_role_failed', 'failed'),
    ('Rejected', 'pending'),
    ('Rejected', 'not_applicable'),
    ('Rejected', 'failed')
  )
);

-- Every write of a workflow step carries an idempotency key (a review's update ID, a retry's request
-- ID, a role result's ID): a step that runs twice (a worker crash before its reply was recorded, a
-- timeout after the commit) finds its first answer here instead of applying itself again.
CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  operation text NOT NULL,
  -- What was asked: a repeated key with a different request is refused.
  request jsonb NOT NULL DEFAULT '{}'::jsonb,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- Down Migration

DROP TABLE idempotency_keys;
ALTER TABLE applications DROP CONSTRAINT applications_reachable_state;
ALTER TABLE applications DROP COLUMN discord_role_assignment_error_type;
