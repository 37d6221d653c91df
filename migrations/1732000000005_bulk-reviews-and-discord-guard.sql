-- Up Migration

-- A bulk review: one reviewer's decision for many applications, recorded in the background by the
-- `bulkReviewWorkflow` (ID `bulk-review:<id>`). The request's Idempotency-Key makes a repeated
-- request find the same bulk.
CREATE TABLE bulk_reviews (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  requested_by uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  idempotency_key text NOT NULL,
  -- SHA-256 of the request (IDs, decision, note): the same key with another request is refused.
  request_digest text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
  note text,
  total integer NOT NULL CHECK (total BETWEEN 1 AND 10000),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Every item has its outcome (the workflow's intake is over).
  recorded_at timestamptz,
  UNIQUE (requested_by, idempotency_key)
);
CREATE INDEX bulk_reviews_organization_created ON bulk_reviews (organization_id, created_at DESC);

-- One requested ID of a bulk, in the order given. `requested_id` is the text as sent (it may not
-- even be a UUID); `application_id` is set once it was found in the organization.
CREATE TABLE bulk_review_items (
  bulk_review_id uuid NOT NULL REFERENCES bulk_reviews (id) ON DELETE CASCADE,
  position integer NOT NULL,
  requested_id text NOT NULL,
  application_id uuid REFERENCES applications (id) ON DELETE SET NULL,
  -- null until the workflow's chunk has run: `recorded` (the decision is stored) or `refused`.
  outcome text CHECK (outcome IN ('recorded', 'refused')),
  error_code text,
  error_message text,
  PRIMARY KEY (bulk_review_id, position),
  CHECK ((outcome = 'refused') = (error_code IS NOT NULL))
);

-- Every request to Discord with the bot token takes the next free slot here first: all workers
-- together stay at the configured rate, spaced evenly (no bursts).
CREATE TABLE discord_request_slots (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  next_slot_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO discord_request_slots DEFAULT VALUES;

-- Requests Discord answered 401 or 403 (its invalid requests), per guild (null: not a guild's
-- route). Requests to a guild stop once it has 10 within 10 minutes. Old rows are deleted by
-- housekeeping.
CREATE TABLE discord_authorization_failures (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  guild_id text,
  status integer NOT NULL,
  code integer,
  route text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX discord_authorization_failures_guild_at ON discord_authorization_failures (guild_id, at);

-- Discord refused the bot token itself (401): every grant of every guild waits until a check
-- finds the token accepted again.
CREATE TABLE discord_bot_token_status (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  rejected_at timestamptz,
  message text
);
INSERT INTO discord_bot_token_status DEFAULT VALUES;

-- Down Migration

DROP TABLE discord_bot_token_status;
DROP TABLE discord_authorization_failures;
DROP TABLE discord_request_slots;
DROP TABLE bulk_review_items;
DROP TABLE bulk_reviews;
