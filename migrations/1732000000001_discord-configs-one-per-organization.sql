-- Up Migration

-- The old app inserted a discord_configs row per connection attempt. Keep the most recent row of
-- each organization, keep the others in a backup table, then make a second row impossible.

CREATE TABLE discord_configs_duplicates_backup (
  LIKE discord_configs,
  backed_up_at timestamptz NOT NULL DEFAULT now()
);

WITH ranked AS (
  SELECT id,
         row_number() OVER (
           PARTITION BY organization_id
           ORDER BY updated_at DESC NULLS LAST, created_at DESC NULLS LAST, id DESC
         ) AS rank
  FROM discord_configs
),
removed AS (
  DELETE FROM discord_configs c
  USING ranked r
  WHERE c.id = r.id AND r.rank > 1
  RETURNING c.*
)
INSERT INTO discord_configs_duplicates_backup
SELECT removed.*, now() FROM removed;

ALTER TABLE discord_configs
  ADD CONSTRAINT discord_configs_organization_id_key UNIQUE (organization_id);

CREATE TYPE discord_connection_state AS ENUM ('disconnected', 'connecting', 'connected', 'error');

ALTER TABLE discord_configs
  ADD COLUMN connection_state discord_connection_state NOT NULL DEFAULT 'disconnected',
  ADD COLUMN connection_state_updated_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN connection_error text;

-- Rows of the old app that name a guild and a role were working connections.
UPDATE discord_configs
SET connection_state = 'connected'
WHERE guild_id IS NOT NULL AND approved_role_id IS NOT NULL;

-- Down Migration

ALTER TABLE discord_configs
  DROP COLUMN connection_error,
  DROP COLUMN connection_state_updated_at,
  DROP COLUMN connection_state;
DROP TYPE discord_connection_state;
ALTER TABLE discord_configs DROP CONSTRAINT discord_configs_organization_id_key;
DROP TABLE discord_configs_duplicates_backup;
