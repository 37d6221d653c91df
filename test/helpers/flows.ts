import { pollUntil } from './poll.js';
import type { Application } from '../../src/domain/application.js';
import { insertApplication } from '../../src/db/applications.js';
import type { Org, Stack } from './stack.js';
import { connect, waitForConnection } from './discord-connect.js';

/**
 * The whole connect flow (our /connect, the sandbox's authorize, our callback), for a test's setup:
 * `success=bot_connected` and so on. The callback answers `status=connecting` when the connection
 * workflow is not done within its few seconds (a loaded test machine): a setup then waits for the
 * connection to settle, and says how it ended as the callback would have. (The connection tests
 * that check the redirect itself use `connect`.)
 */
export async function connectDiscord(
  stack: Stack,
  cookie: string,
  guildId: string,
  overrides: { permissions?: string } = {},
): Promise<string> {
  const outcome = await connect(stack, cookie, guildId, overrides);
  if (outcome !== 'status=connecting') return outcome;
  const view = await waitForConnection(stack, cookie, (v) => v.state !== 'connecting', 60_000);
  return view.state === 'connected' ? 'success=bot_connected' : `error=${view.error ?? 'unknown'}`;
}

export async function getApplication(stack: Stack, cookie: string, id: string): Promise<Application> {
  const res = await stack.api(`/api/applications/${id}`, { cookie });
  if (res.status !== 200) throw new Error(`GET application answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Application;
}

export async function waitForApplication(
  stack: Stack,
  cookie: string,
  id: string,
  until: (a: Application) => boolean,
  timeoutMs = 30_000,
): Promise<Application> {
  return await pollUntil(() => getApplication(stack, cookie, id), until, {
    timeoutMs,
    intervalMs: 150,
    what: `application ${id}`,
  });
}

/** An application as stored, bypassing the API's validation (legacy rows, bulk fixtures). */
export async function seedApplication(stack: Stack, org: Org, customData: Record<string, unknown>): Promise<string> {
  const app = await insertApplication(stack.db.pool, {
    organizationId: org.id,
    name: 'Applicant',
    email: 'applicant@example.com',
    customData,
  });
  return app.id;
}

export async function review(
  stack: Stack,
  cookie: string,
  id: string,
  decision: 'approve' | 'reject',
): Promise<{ status: number; body: Application & { error?: { code: string; message: string } } }> {
  const res = await stack.api(`/api/applications/${id}/review`, { method: 'POST', cookie, body: { decision } });
  return {
    status: res.status,
    body: (await res.json()) as Application & { error?: { code: string; message: string } },
  };
}

export async function retryRole(stack: Stack, cookie: string, id: string) {
  const res = await stack.api(`/api/applications/${id}/retry-role`, { method: 'POST', cookie });
  return {
    status: res.status,
    body: (await res.json()) as Application & { error?: { code: string; message: string } },
  };
}

export type { BulkReviewProgress } from '../../src/domain/bulk-review.js';
import type { BulkReviewProgress } from '../../src/domain/bulk-review.js';

/** `POST /api/applications/bulk-review`: the answer's status, body and how long it took. */
export async function bulkReview(
  stack: Stack,
  cookie: string,
  ids: string[],
  decision: 'approve' | 'reject' = 'approve',
  headers: { idempotencyKey?: string } = {},
): Promise<{ status: number; body: { bulkId?: string; error?: { code: string; message: string } }; ms: number }> {
  const started = Date.now();
  const res = await stack.api('/api/applications/bulk-review', {
    method: 'POST',
    cookie,
    body: { ids, decision },
    ...(headers.idempotencyKey ? { headers: { 'idempotency-key': headers.idempotencyKey } } : {}),
  });
  const body = (await res.json()) as { bulkId?: string; error?: { code: string; message: string } };
  return { status: res.status, body, ms: Date.now() - started };
}

export async function bulkProgress(stack: Stack, cookie: string, bulkId: string): Promise<BulkReviewProgress> {
  const res = await stack.api(`/api/bulk-reviews/${bulkId}`, { cookie });
  if (res.status !== 200) throw new Error(`GET bulk review answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as BulkReviewProgress;
}

export async function waitForBulk(
  stack: Stack,
  cookie: string,
  bulkId: string,
  until: (p: BulkReviewProgress) => boolean = (p) => p.done,
  timeoutMs = 60_000,
): Promise<BulkReviewProgress> {
  return await pollUntil(() => bulkProgress(stack, cookie, bulkId), until, {
    timeoutMs,
    intervalMs: 250,
    what: `bulk review ${bulkId}`,
  });
}
