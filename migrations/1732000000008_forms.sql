-- Up Migration

-- Application forms: an organization's own questions. A form's questions are versioned: editing a
-- form that applications answered adds a version (an application keeps the version it answered);
-- editing one nobody answered yet changes its current version in place.
CREATE TABLE forms (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  cooldown_days integer NOT NULL DEFAULT 0 CHECK (cooldown_days BETWEEN 0 AND 365),
  share_notes boolean NOT NULL DEFAULT false,
  -- Since when notes are shared: a note shows to its applicant only when it was written after this,
  -- so turning sharing on does not publish notes written while the form said they stay private.
  share_notes_since timestamptz,
  CHECK (share_notes = (share_notes_since IS NOT NULL)),
  -- The form of `/apply/<organization>`: exactly one per organization (the index below; every
  -- organization gets one when it is created, see the trigger at the end).
  is_default boolean NOT NULL DEFAULT false,
  current_version integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, slug),
  -- For applications' (organization_id, form_id) reference: a form of their own organization.
  UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX forms_one_default_per_organization ON forms (organization_id) WHERE is_default;

-- One version of a form's questions: {title, description, questions: [{id, label, type, required,
-- options?, maxLength?, help?}]} (src/domain/form.ts). Never changed once an application answered it.
CREATE TABLE form_versions (
  form_id uuid NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version >= 1),
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (form_id, version)
);
-- The current version exists (checked at commit: a form and its first version are inserted together).
ALTER TABLE forms
  ADD CONSTRAINT forms_current_version_fkey FOREIGN KEY (id, current_version)
    REFERENCES form_versions (form_id, version) DEFERRABLE INITIALLY DEFERRED;

-- Every organization's default form: the fixed applicant fields (name, email) and no questions, as
-- the public form was before forms existed.
CREATE FUNCTION create_default_form() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_form_id uuid;
BEGIN
  INSERT INTO forms (organization_id, slug, title, is_default)
  VALUES (NEW.id, 'apply', 'Membership application', true)
  RETURNING id INTO new_form_id;
  INSERT INTO form_versions (form_id, version, definition)
  VALUES (new_form_id, 1, jsonb_build_object('title', 'Membership application', 'description', '', 'questions', '[]'::jsonb));
  RETURN NEW;
END;
$$;

-- Backfill: the organizations there are.
INSERT INTO forms (organization_id, slug, title, is_default)
SELECT id, 'apply', 'Membership application', true FROM organizations;
INSERT INTO form_versions (form_id, version, definition)
SELECT id, 1, jsonb_build_object('title', title, 'description', '', 'questions', '[]'::jsonb) FROM forms;

-- Creating an organization creates its default form, in the same transaction, however the
-- organization is created (the CLI, the demo seed, a test's SQL).
CREATE TRIGGER organizations_default_form
  AFTER INSERT ON organizations
  FOR EACH ROW EXECUTE FUNCTION create_default_form();

-- An application answers one version of one form of its organization; its answers are checked
-- against that version's questions (src/domain/form.ts) before they are stored.
ALTER TABLE applications
  ADD COLUMN form_id uuid,
  ADD COLUMN form_version integer,
  ADD COLUMN answers jsonb NOT NULL DEFAULT '{}'::jsonb;
UPDATE applications a SET form_id = f.id, form_version = 1
FROM forms f WHERE f.organization_id = a.organization_id AND f.is_default;

-- An application stored without a form (SQL of a tool or a test) answers its organization's
-- default form as it is now.
CREATE FUNCTION application_default_form() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.form_id IS NULL THEN
    SELECT id, current_version INTO NEW.form_id, NEW.form_version
    FROM forms WHERE organization_id = NEW.organization_id AND is_default
    -- As a submission does: an edit of the form waits, then sees its version answered.
    FOR SHARE;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER applications_default_form
  BEFORE INSERT ON applications
  FOR EACH ROW EXECUTE FUNCTION application_default_form();

ALTER TABLE applications
  ALTER COLUMN form_id SET NOT NULL,
  ALTER COLUMN form_version SET NOT NULL,
  ADD CONSTRAINT applications_answers_object CHECK (jsonb_typeof(answers) = 'object'),
  ADD CONSTRAINT applications_form_fkey FOREIGN KEY (organization_id, form_id) REFERENCES forms (organization_id, id),
  ADD CONSTRAINT applications_form_version_fkey FOREIGN KEY (form_id, form_version)
    REFERENCES form_versions (form_id, version);
-- Per form: the export, the application counts, the cooldown's look for a recent rejection.
CREATE INDEX applications_form_idx ON applications (form_id, form_version);
CREATE INDEX applications_form_email_idx ON applications (form_id, lower(applicant_email));
-- A form's applications in order (its export, its list), and its rejections (the cooldown check).
CREATE INDEX applications_form_created_idx ON applications (form_id, created_at, id);
CREATE INDEX applications_form_rejected_idx ON applications (form_id, reviewed_at) WHERE status = 'Rejected';

-- Down Migration

DROP INDEX applications_form_rejected_idx;
DROP INDEX applications_form_created_idx;
DROP INDEX applications_form_email_idx;
DROP INDEX applications_form_idx;
DROP TRIGGER applications_default_form ON applications;
DROP FUNCTION application_default_form();
ALTER TABLE applications
  DROP CONSTRAINT applications_form_version_fkey,
  DROP CONSTRAINT applications_form_fkey,
  DROP CONSTRAINT applications_answers_object,
  DROP COLUMN answers,
  DROP COLUMN form_version,
  DROP COLUMN form_id;
DROP TRIGGER organizations_default_form ON organizations;
DROP FUNCTION create_default_form();
ALTER TABLE forms DROP CONSTRAINT forms_current_version_fkey;
DROP TABLE form_versions;
DROP TABLE forms;
