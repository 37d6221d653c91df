-- Up Migration

-- One row per decision email: the application and the decision's key (the review's idempotency
-- key, the one its database step is recorded under). The role workflow's `sendDecisionEmail`
-- activity reads it first (a `sent` or `failed` row is not sent again), sends with a Message-ID
-- derived from the key, then marks it. A worker that dies between the SMTP server's acceptance and
-- the mark leaves it `pending`: the retry sends the same message (same Message-ID) again, which
-- receivers collapse into one.
CREATE TABLE decision_emails (
  application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  decision_key text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
  message_id text NOT NULL,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- The last refusal or error (an SMTP reply such as "550 5.1.1 unknown user"), never a credential.
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  PRIMARY KEY (application_id, decision_key)
);
CREATE INDEX decision_emails_pending_idx ON decision_emails (created_at) WHERE state = 'pending';

-- Down Migration

DROP TABLE decision_emails;
