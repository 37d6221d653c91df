-- Up Migration

-- The HTTP rate limiters' counters (login failures, OAuth callbacks, public form), kept here so
-- that every API replica counts against one budget. One row per limiter and client key, for one
-- fixed window: the first hit after `reset_at` starts a new window.
CREATE TABLE rate_limit_hits (
  limiter text NOT NULL,
  key text NOT NULL,
  hits integer NOT NULL CHECK (hits >= 0),
  reset_at timestamptz NOT NULL,
  PRIMARY KEY (limiter, key)
);
-- The hourly housekeeping deletes the windows that are over.
CREATE INDEX rate_limit_hits_reset_at ON rate_limit_hits (reset_at);

-- Down Migration

DROP TABLE rate_limit_hits;
