-- Up Migration

-- Reading the audit log: an application's timeline (every entry about one subject, oldest first) and
-- the admins' filtered, paged browse of an organization's log (newest first, paged by id).
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id, id);
CREATE INDEX audit_log_organization_id_idx ON audit_log (organization_id, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, id DESC) WHERE actor_user_id IS NOT NULL;

-- Down Migration

DROP INDEX audit_log_actor_idx;
DROP INDEX audit_log_organization_id_idx;
DROP INDEX audit_log_subject_idx;
