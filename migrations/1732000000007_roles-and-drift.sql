-- Up Migration

-- The roles an approval adds (1 to 5) and removes (0 to 10), chosen by an admin in Settings. A new
-- connection adds the role it found or created (approved_role_id) and removes none.
ALTER TABLE discord_configs
  ADD COLUMN add_role_ids text[] NOT NULL DEFAULT '{}',
  ADD COLUMN remove_role_ids text[] NOT NULL DEFAULT '{}',
  -- The guild's roles and the bot's place among them, as the last look at Discord saw them
  -- (`{botHighestPosition, canManageRoles, roles: [{id, name, position, permissions, managed}]}`):
  -- names for messages about a deleted role, and the picker's answer when Discord is away.
  ADD COLUMN guild_roles jsonb,
  -- When a reconciliation last listed every member of the guild (null: never, or the bot lacks the
  -- Server Members intent): the member cache below is then complete.
  ADD COLUMN members_listed_at timestamptz,
  ADD CONSTRAINT discord_configs_add_roles_count CHECK (cardinality(add_role_ids) <= 5),
  ADD CONSTRAINT discord_configs_remove_roles_count CHECK (cardinality(remove_role_ids) <= 10);
UPDATE discord_configs SET add_role_ids = ARRAY[approved_role_id] WHERE approved_role_id IS NOT NULL;

-- What a reconciliation does with an approved member missing a role: give it back, or only report
-- it (the application then shows the failure, and a manual retry gives it back).
ALTER TABLE organizations
  ADD COLUMN drift_repair text NOT NULL DEFAULT 'restore' CHECK (drift_repair IN ('restore', 'report'));

-- Per application, per role: the roles its grant is for (the organization's add roles when the grant
-- looked, null: it never looked), and those of them the member held on their own before. A reversal
-- takes back only roles this grant gave: discord_role_ids minus discord_roles_held_before.
ALTER TABLE applications
  ADD COLUMN discord_role_ids text[],
  ADD COLUMN discord_roles_held_before text[],
  ADD CONSTRAINT applications_roles_observed_together
    CHECK ((discord_role_ids IS NULL) = (discord_roles_held_before IS NULL));
UPDATE applications a
SET discord_role_ids = ARRAY[c.approved_role_id],
    discord_roles_held_before = CASE WHEN a.discord_role_held_before THEN ARRAY[c.approved_role_id] ELSE '{}' END
FROM discord_configs c
WHERE c.organization_id = a.organization_id AND c.approved_role_id IS NOT NULL
  AND a.discord_role_held_before IS NOT NULL;
ALTER TABLE applications DROP COLUMN discord_role_held_before;

-- The members of connected guilds as reconciliations saw them: whether an applicant is in the
-- server (readiness before approval). Complete when discord_configs.members_listed_at is set.
CREATE TABLE discord_guild_members (
  guild_id text NOT NULL,
  user_id text NOT NULL,
  role_ids text[] NOT NULL,
  pending boolean NOT NULL DEFAULT false,
  seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (guild_id, user_id)
);

-- One reconciliation of an organization (scheduled, a "Check now", or a re-apply of the roles):
-- its health check's findings and what it compared, found and repaired.
CREATE TABLE reconciliation_runs (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'check', 'reapply')),
  workflow_id text NOT NULL,
  -- The first run of the workflow (later runs continue as new): the Temporal Web UI's link.
  run_id text NOT NULL,
  guild_id text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  -- How members were compared: `list` (Server Members intent), `one_by_one`, or null (not compared).
  member_source text CHECK (member_source IN ('list', 'one_by_one')),
  -- `[{kind, message}]`: what the health check found wrong (empty: healthy).
  findings jsonb NOT NULL DEFAULT '[]',
  error text
);
CREATE INDEX reconciliation_runs_organization ON reconciliation_runs (organization_id, started_at DESC);

-- What each batch of a run compared (written once per batch, so a batch run twice counts once).
CREATE TABLE reconciliation_batches (
  run_id uuid NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
  batch integer NOT NULL,
  members_checked integer NOT NULL,
  requests integer NOT NULL,
  PRIMARY KEY (run_id, batch)
);

-- Each drift a run found, and what it did about it: `repaired`, `reported`, or `marked_left`. Keyed
-- so that a batch run twice records (and audits) each drift once.
CREATE TABLE reconciliation_drift (
  run_id uuid NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
  application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('role_missing', 'role_not_taken_back', 'remove_role_held', 'member_left')),
  role_id text NOT NULL DEFAULT '',
  outcome text NOT NULL CHECK (outcome IN ('repaired', 'reported', 'marked_left', 'failed')),
  detail text,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, application_id, kind, role_id)
);

-- Down Migration

DROP TABLE reconciliation_drift;
DROP TABLE reconciliation_batches;
DROP TABLE reconciliation_runs;
DROP TABLE discord_guild_members;
ALTER TABLE applications ADD COLUMN discord_role_held_before boolean;
UPDATE applications SET discord_role_held_before = cardinality(discord_roles_held_before) > 0
WHERE discord_role_ids IS NOT NULL;
ALTER TABLE applications
  DROP CONSTRAINT applications_roles_observed_together,
  DROP COLUMN discord_roles_held_before,
  DROP COLUMN discord_role_ids;
ALTER TABLE organizations DROP COLUMN drift_repair;
ALTER TABLE discord_configs
  DROP CONSTRAINT discord_configs_remove_roles_count,
  DROP CONSTRAINT discord_configs_add_roles_count,
  DROP COLUMN members_listed_at,
  DROP COLUMN guild_roles,
  DROP COLUMN remove_role_ids,
  DROP COLUMN add_role_ids;
