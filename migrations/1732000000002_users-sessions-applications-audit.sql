-- Up Migration

CREATE TYPE user_role AS ENUM ('admin', 'reviewer');

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  email text NOT NULL,
  -- scrypt, in the PHC-like form "scrypt$N$r$p$salt$hash" (base64).
  password_hash text NOT NULL,
  role user_role NOT NULL DEFAULT 'reviewer',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization_id_idx ON users (organization_id);

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- SHA-256 of the cookie's token: a database leak does not leak sessions.
  token_hash bytea NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Nonces of OAuth states already used: a state is accepted once.
CREATE TABLE oauth_state_uses (
  nonce text PRIMARY KEY,
  used_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);

CREATE TYPE application_status AS ENUM (
  'Pending',
  'Rejected',
  'Approved',
  'approved_pending_role',
  'approved_role_assigned',
  'approved_role_failed'
);

CREATE TYPE role_assignment_status AS ENUM ('pending', 'success', 'failed', 'not_applicable');

CREATE TABLE applications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  applicant_name text NOT NULL,
  applicant_email text NOT NULL,
  custom_data jsonb NOT NULL DEFAULT '{}'::jsonb,
  status application_status NOT NULL DEFAULT 'Pending',
  notes text,
  reviewed_by uuid REFERENCES users (id) ON DELETE SET NULL,
  reviewed_at timestamptz,
  discord_role_assignment_status role_assignment_status NOT NULL DEFAULT 'not_applicable',
  discord_role_assignment_error text,
  discord_role_assignment_attempted_at timestamptz,
  discord_role_assignment_retry_count integer NOT NULL DEFAULT 0
    CHECK (discord_role_assignment_retry_count BETWEEN 0 AND 5),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_organization_created_idx ON applications (organization_id, created_at DESC, id DESC);
CREATE INDEX applications_organization_status_idx ON applications (organization_id, status, created_at DESC, id DESC);
CREATE INDEX applications_role_assignment_failed_idx ON applications (organization_id, updated_at)
  WHERE discord_role_assignment_status = 'failed';
CREATE INDEX applications_role_assignment_pending_idx ON applications (updated_at)
  WHERE discord_role_assignment_status = 'pending';

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
  actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  action text NOT NULL,
  subject_type text,
  subject_id text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_organization_idx ON audit_log (organization_id, created_at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

-- Down Migration

DROP TABLE audit_log;
DROP FUNCTION audit_log_is_append_only();
DROP TABLE applications;
DROP TYPE role_assignment_status;
DROP TYPE application_status;
DROP TABLE oauth_state_uses;
DROP TABLE sessions;
DROP TABLE users;
DROP TYPE user_role;
