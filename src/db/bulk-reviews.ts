import { createHash } from 'node:crypto';
import { appendAuditLogs } from './audit-log.js';
import { lockApplications, writeStateChanges } from './applications.js';
import type { Pool, PoolClient } from './pool.js';
import { transition, type ReviewDecision, type RoleAssignmentStatus } from '../domain/application-lifecycle.js';
import type { BulkReviewProgress } from '../domain/bulk-review.js';
import { lifecycleStateOf, reviewEvent } from '../domain/application.js';
import { isUuid } from '../domain/uuid.js';

type Db = Pool | PoolClient;

export interface BulkReview {
  id: string;
  organizationId: string;
  requestedBy: string;
  decision: ReviewDecision;
  note: string | null;
  total: number;
  createdAt: Date;
  recordedAt: Date | null;
  requestDigest: string;
}

/** What makes two bulk requests the same request. */
export const bulkRequestDigest = (request: { ids: string[]; decision: ReviewDecision; note: string | null }) =>
  createHash('sha256')
    .update(JSON.stringify([request.ids, request.decision, request.note]))
    .digest('hex');

function toBulkReview(row: Record<string, unknown>): BulkReview {
  return {
    id: row.id as string,
    organizationId: row.organization_id as string,
    requestedBy: row.requested_by as string,
    decision: row.decision as ReviewDecision,
    note: row.note as string | null,
    total: row.total as number,
    createdAt: row.created_at as Date,
    recordedAt: row.recorded_at as Date | null,
    requestDigest: row.request_digest as string,
  };
}

const columns = 'id, organization_id, requested_by, decision, note, total, created_at, recorded_at, request_digest';

/**
 * Stores a bulk review and its IDs (in the order given) in two statements. The same requester and
 * idempotency key again finds the first bulk (`created: false`) without storing anything.
 */
export async function insertBulkReview(
  db: PoolClient,
  input: {
    id: string;
    organizationId: string;
    requestedBy: string;
    idempotencyKey: string;
    decision: ReviewDecision;
    note: string | null;
    ids: string[];
  },
): Promise<{ bulk: BulkReview; created: boolean }> {
  const { rows } = await db.query(
    `INSERT INTO bulk_reviews (id, organization_id, requested_by, idempotency_key, request_digest, decision, note, total)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (requested_by, idempotency_key) DO NOTHING
     RETURNING ${columns}`,
    [
      input.id,
      input.organizationId,
      input.requestedBy,
      input.idempotencyKey,
      bulkRequestDigest(input),
      input.decision,
      input.note,
      input.ids.length,
    ],
  );
  if (!rows[0]) {
    const existing = await db.query(
      `SELECT ${columns} FROM bulk_reviews WHERE requested_by = $1 AND idempotency_key = $2`,
      [input.requestedBy, input.idempotencyKey],
    );
    return { bulk: toBulkReview(existing.rows[0]!), created: false };
  }
  await db.query(
    `INSERT INTO bulk_review_items (bulk_review_id, position, requested_id)
     SELECT $1, ord - 1, requested_id FROM unnest($2::text[]) WITH ORDINALITY AS t(requested_id, ord)`,
    [input.id, input.ids],
  );
  return { bulk: toBulkReview(rows[0]), created: true };
}

export async function findBulkReview(db: Db, id: string, organizationId: string): Promise<BulkReview | null> {
  const { rows } = await db.query(`SELECT ${columns} FROM bulk_reviews WHERE id = $1 AND organization_id = $2`, [
    id,
    organizationId,
  ]);
  return rows[0] ? toBulkReview(rows[0]) : null;
}

/** An application a chunk recorded a decision for, with the role state it now has. */
export interface RecordedItem {
  applicationId: string;
  organizationId: string;
  roleStatus: RoleAssignmentStatus;
}

const NOT_FOUND = { code: 'not_found', message: 'No such application.' };

/**
 * Records the bulk's decision for the items at positions [from, to) that have no outcome yet, in
 * one transaction of a few set-based statements: each application's change is the state
 * machine's answer to the review, written with its audit entry, and each item gets its outcome.
 * Runs again harmlessly (items with an outcome are skipped). Returns every recorded application of
 * the range, including ones an earlier attempt recorded, for the hand-off to their workflows.
 */
export async function recordBulkReviewChunk(
  db: PoolClient,
  input: { bulkReviewId: string; from: number; to: number },
): Promise<{
  recorded: RecordedItem[];
  refused: number;
  /** What this call decided itself (not earlier attempts): items by outcome, for the metrics. */
  decidedNow: { decision: ReviewDecision; outcomes: Record<string, number>; grantsFailedAtOnce: string[] };
} | null> {
  const { rows: bulkRows } = await db.query(`SELECT ${columns} FROM bulk_reviews WHERE id = $1`, [input.bulkReviewId]);
  if (!bulkRows[0]) return null;
  const bulk = toBulkReview(bulkRows[0]);
  const { rows: items } = await db.query<{ position: number; requested_id: string }>(
    `SELECT position, requested_id FROM bulk_review_items
     WHERE bulk_review_id = $1 AND position >= $2 AND position < $3 AND outcome IS NULL
     ORDER BY position FOR UPDATE`,
    [bulk.id, input.from, input.to],
  );
  // UUIDs are compared in their canonical (lower case) form.
  const idOf = (requested: string) => requested.toLowerCase();
  const wanted = [...new Set(items.map((i) => idOf(i.requested_id)).filter(isUuid))];
  const apps = new Map((await lockApplications(db, wanted, bulk.organizationId)).map((a) => [a.id, a]));

  const outcomes: Array<{
    position: number;
    applicationId: string | null;
    code: string | null;
    message: string | null;
  }> = [];
  const changes: Parameters<typeof writeStateChanges>[1] = [];
  const decided = new Set<string>();
  for (const item of items) {
    const app = apps.get(idOf(item.requested_id));
    if (!app) {
      outcomes.push({ position: item.position, applicationId: null, ...NOT_FOUND });
      continue;
    }
    if (decided.has(app.id)) {
      // The same ID twice in one request: the first one decided it.
      outcomes.push({ position: item.position, applicationId: app.id, code: 'duplicate', message: 'Listed twice.' });
      continue;
    }
    const next = transition(lifecycleStateOf(app), reviewEvent(app, bulk.decision));
    if (!next.ok) {
      outcomes.push({
        position: item.position,
        applicationId: app.id,
        code: next.refusal.code,
        message: next.refusal.message,
      });
      continue;
    }
    decided.add(app.id);
    changes.push({
      id: app.id,
      change: next.change,
      review: { reviewedBy: bulk.requestedBy, notes: bulk.note ?? undefined },
    });
    outcomes.push({ position: item.position, applicationId: app.id, code: null, message: null });
  }

  const written = await writeStateChanges(db, changes);
  await appendAuditLogs(
    db,
    written.map((after) => ({
      organizationId: bulk.organizationId,
      actorUserId: bulk.requestedBy,
      action: bulk.decision === 'approve' ? 'application.approved' : 'application.rejected',
      subjectType: 'application',
      subjectId: after.id,
      details: {
        from: apps.get(after.id)!.status,
        to: after.status,
        bulkReviewId: bulk.id,
        ...(bulk.note ? { note: bulk.note } : {}),
      },
    })),
  );
  // The applicants' Discord tokens serve one grant: a rejected application needs them no more.
  const rejected = written.filter((a) => a.status === 'Rejected').map((a) => a.id);
  if (rejected.length > 0) {
    await db.query(`DELETE FROM applicant_tokens WHERE application_id = ANY($1::uuid[])`, [rejected]);
  }
  if (outcomes.length > 0) {
    await db.query(
      `UPDATE bulk_review_items AS i
       SET outcome = CASE WHEN o.code IS NULL THEN 'recorded' ELSE 'refused' END,
           application_id = o.application_id, error_code = o.code, error_message = o.message
       FROM unnest($2::int[], $3::uuid[], $4::text[], $5::text[]) AS o(position, application_id, code, message)
       WHERE i.bulk_review_id = $1 AND i.position = o.position`,
      [
        bulk.id,
        outcomes.map((o) => o.position),
        outcomes.map((o) => o.applicationId),
        outcomes.map((o) => o.code),
        outcomes.map((o) => o.message),
      ],
    );
  }
  const { rows: recorded } = await db.query<{ application_id: string; role_status: RoleAssignmentStatus }>(
    `SELECT i.application_id, a.discord_role_assignment_status AS role_status
     FROM bulk_review_items i JOIN applications a ON a.id = i.application_id
     WHERE i.bulk_review_id = $1 AND i.position >= $2 AND i.position < $3 AND i.outcome = 'recorded'`,
    [bulk.id, input.from, input.to],
  );
  return {
    recorded: recorded.map((r) => ({
      applicationId: r.application_id,
      organizationId: bulk.organizationId,
      roleStatus: r.role_status,
    })),
    refused: outcomes.filter((o) => o.code !== null).length,
    decidedNow: {
      decision: bulk.decision,
      outcomes: outcomes.reduce<Record<string, number>>((acc, o) => {
        const outcome = o.code ?? 'recorded';
        acc[outcome] = (acc[outcome] ?? 0) + 1;
        return acc;
      }, {}),
      // The error types of approvals whose grant failed at once, without Discord (an invalid Discord ID).
      grantsFailedAtOnce: written
        .filter((a) => a.status === 'approved_role_failed')
        .map((a) => a.roleAssignment.errorType ?? 'unexpected'),
    },
  };
}

/** The intake is over: every item has its outcome. */
export async function markBulkReviewRecorded(db: Db, id: string): Promise<void> {
  await db.query(`UPDATE bulk_reviews SET recorded_at = coalesce(recorded_at, now()) WHERE id = $1`, [id]);
}

/** Totals by outcome, read live from the items and their applications. */
export async function bulkReviewProgress(db: Db, bulk: BulkReview, refusedLimit = 100): Promise<BulkReviewProgress> {
  const { rows } = await db.query<{
    recorded: number;
    refused: number;
    undecided: number;
    assigned: number;
    failed: number;
    in_flight: number;
  }>(
    `SELECT count(*) FILTER (WHERE i.outcome = 'recorded')::int AS recorded,
            count(*) FILTER (WHERE i.outcome = 'refused')::int AS refused,
            count(*) FILTER (WHERE i.outcome IS NULL)::int AS undecided,
            count(*) FILTER (WHERE i.outcome = 'recorded' AND a.discord_role_assignment_status =
              (CASE WHEN $2 = 'approve' THEN 'success' ELSE 'not_applicable' END)::role_assignment_status)::int AS assigned,
            count(*) FILTER (WHERE i.outcome = 'recorded' AND a.discord_role_assignment_status = 'failed')::int AS failed,
            count(*) FILTER (WHERE i.outcome = 'recorded' AND a.discord_role_assignment_status = 'pending')::int AS in_flight
     FROM bulk_review_items i LEFT JOIN applications a ON a.id = i.application_id
     WHERE i.bulk_review_id = $1`,
    [bulk.id, bulk.decision],
  );
  const { rows: refused } = await db.query<{ requested_id: string; error_code: string; error_message: string }>(
    `SELECT requested_id, error_code, error_message FROM bulk_review_items
     WHERE bulk_review_id = $1 AND outcome = 'refused' ORDER BY position LIMIT $2`,
    [bulk.id, refusedLimit],
  );
  const r = rows[0]!;
  return {
    bulkId: bulk.id,
    decision: bulk.decision,
    total: bulk.total,
    recorded: r.recorded,
    assigned: r.assigned,
    failed: r.failed,
    refusedCount: r.refused,
    refused: refused.map((x) => ({ id: x.requested_id, error: { code: x.error_code, message: x.error_message } })),
    done: r.undecided === 0 && r.in_flight === 0,
    createdAt: bulk.createdAt.toISOString(),
  };
}
