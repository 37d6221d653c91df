-- Up Migration

-- Applicants sign in with Discord: new organizations require it; existing ones keep the typed ID
-- until an admin turns it on.
ALTER TABLE organizations ADD COLUMN require_discord_sign_in boolean NOT NULL DEFAULT false;
ALTER TABLE organizations ALTER COLUMN require_discord_sign_in SET DEFAULT true;

-- The Discord account an application is for: the signed-in (verified) one, or a typed ID that was
-- valid when submitted. The role only ever goes to this account.
ALTER TABLE applications
  ADD COLUMN discord_user_id text CHECK (discord_user_id ~ '^[1-9][0-9]{16,19}$'),
  ADD COLUMN discord_verified boolean NOT NULL DEFAULT false,
  ADD COLUMN discord_username text,
  ADD COLUMN discord_global_name text,
  ADD COLUMN discord_avatar text,
  -- Whether the member already held the role when this application's grant first looked (null:
  -- it never looked). A reversal takes back only a role this grant gave: held_before = false.
  ADD COLUMN discord_role_held_before boolean,
  ADD CONSTRAINT applications_verified_has_account CHECK (NOT discord_verified OR discord_user_id IS NOT NULL);

UPDATE applications
SET discord_user_id = custom_data ->> 'discord_user_id'
WHERE jsonb_typeof(custom_data -> 'discord_user_id') = 'string'
  AND custom_data ->> 'discord_user_id' ~ '^[1-9][0-9]{16,19}$';

-- Before this column existed, every grant this project attempted was taken to be its own: the
-- assigned ones, those being granted or retried, and reversals still taking the role back.
UPDATE applications SET discord_role_held_before = false
WHERE discord_role_assignment_attempted_at IS NOT NULL
   OR status IN ('approved_role_assigned', 'approved_pending_role', 'approved_role_failed')
   OR (status = 'Rejected' AND discord_role_assignment_status IN ('pending', 'failed'));

-- One live application per verified account and organization (a typed ID proves nothing, so it
-- cannot block anyone).
CREATE UNIQUE INDEX applications_one_live_per_account ON applications (organization_id, discord_user_id)
  WHERE discord_verified
    AND status IN ('Pending', 'Approved', 'approved_pending_role', 'approved_role_assigned', 'approved_role_failed');
CREATE INDEX applications_discord_user_idx ON applications (organization_id, discord_user_id)
  WHERE discord_user_id IS NOT NULL;

-- An applicant's browser after signing in with Discord: the cookie holds a random token, only its
-- SHA-256 is stored. The Discord tokens are encrypted (AES-256-GCM) and move to the application
-- when it is submitted.
CREATE TABLE applicant_sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash bytea NOT NULL UNIQUE,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  discord_user_id text NOT NULL CHECK (discord_user_id ~ '^[1-9][0-9]{16,19}$'),
  discord_username text NOT NULL,
  discord_global_name text,
  discord_avatar text,
  access_token_enc text,
  refresh_token_enc text,
  token_expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX applicant_sessions_expires_at_idx ON applicant_sessions (expires_at);

-- The applicant's Discord tokens, kept only to add them to the server on approval: deleted once the
-- role is granted or the application rejected, and after 30 days in any case.
CREATE TABLE applicant_tokens (
  application_id uuid PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
  access_token_enc text NOT NULL,
  refresh_token_enc text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE applicant_tokens;
DROP TABLE applicant_sessions;
DROP INDEX applications_discord_user_idx;
DROP INDEX applications_one_live_per_account;
ALTER TABLE applications
  DROP CONSTRAINT applications_verified_has_account,
  DROP COLUMN discord_role_held_before,
  DROP COLUMN discord_avatar,
  DROP COLUMN discord_global_name,
  DROP COLUMN discord_username,
  DROP COLUMN discord_verified,
  DROP COLUMN discord_user_id;
ALTER TABLE organizations DROP COLUMN require_discord_sign_in;
