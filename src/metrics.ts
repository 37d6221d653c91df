/**
 * The process's metrics in Prometheus text format (prom-client): one registry per process, served
 * at `/metrics` by the API (src/http/routes/metrics.ts) and by the worker's own small server
 * (src/metrics-server.ts). `npm start` runs the workers inside the API's process, so the API's
 * `/metrics` shows both there. The README's "Metrics" section lists every metric.
 *
 * Labels never carry an ID, a URL with IDs, a name or a secret: only bounded sets of words.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from './config.js';

export const metricsRegistry = new Registry();

let defaultMetricsOn = false;
/** Node's own metrics (`process_*`, `nodejs_*`: CPU, memory, event loop lag, GC), once per process. */
export function enableDefaultMetrics(): void {
  if (defaultMetricsOn) return;
  defaultMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

// --- HTTP (the API) ---

export const httpRequestDuration = new Histogram({
  name: 'role_grants_http_request_duration_seconds',
  help: 'Time from a request to the end of its answer, by method, Express route pattern and status class.',
  labelNames: ['method', 'route', 'status_class'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** A method label from a bounded set (anything else a client sends is `other`). */
export const methodLabel = (method: string) =>
  HTTP_METHODS.has(method.toUpperCase()) ? method.toUpperCase() : 'other';

/** `2xx`, `4xx`, ... */
export const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;

// --- Grants and removals (the worker) ---

export const grantsTotal = new Counter({
  name: 'role_grants_grants_total',
  help: 'Results of grants of the Approved role stored by the workers: assigned, failed (with error_type), stale (the decision moved on meanwhile).',
  labelNames: ['outcome', 'error_type'] as const,
  registers: [metricsRegistry],
});

export const revokesTotal = new Counter({
  name: 'role_grants_revokes_total',
  help: 'Results of removals of the Approved role after a reversal: removed, kept (not ours to take back), failed (with error_type), stale.',
  labelNames: ['outcome', 'error_type'] as const,
  registers: [metricsRegistry],
});

/** An error type as a label: the stable snake_case types of src/discord/errors.ts, anything else `other`. */
export const errorTypeLabel = (type: string | null | undefined) =>
  !type ? '' : /^[a-z][a-z0-9_]{0,63}$/.test(type) ? type : 'other';

export type RoleChangeOutcome = 'assigned' | 'removed' | 'kept' | 'failed' | 'stale';

/** Counts one stored result of a grant (`grant`) or a removal (`revoke`). */
export function countRoleChange(action: 'grant' | 'revoke', outcome: RoleChangeOutcome, errorType?: string | null) {
  const counter = action === 'grant' ? grantsTotal : revokesTotal;
  counter.inc({ outcome, error_type: outcome === 'failed' ? errorTypeLabel(errorType) : '' });
}

// --- Discord, as the guard sees it (src/discord/guard.ts) ---

export const discordResponsesTotal = new Counter({
  name: 'role_grants_discord_responses_total',
  help: 'Answers of Discord to requests with the bot token, by status class (429 and 403 apart from the other 4xx) and route (IDs as :id).',
  labelNames: ['status_class', 'route'] as const,
  registers: [metricsRegistry],
});

/** `2xx`, `3xx`, `4xx`, `5xx`, with `429` and `403` apart (they are what Discord bans an IP for). */
export const discordStatusClass = (status: number) =>
  status === 429 || status === 403 ? String(status) : statusClass(status);

/** `PUT /guilds/:id/members/:id/roles/:id`: the method and the path without the version prefix, IDs replaced. */
export function discordRouteLabel(method: string, path: string): string {
  const route = path
    .replace(/^\/api(\/v\d+)?(?=\/)/, '')
    .split('/')
    .map((segment) => (/^\d+$/.test(segment) ? ':id' : segment))
    .join('/');
  return `${methodLabel(method)} ${route.length > 100 ? route.slice(0, 100) : route}`;
}

export const discordBlockedTotal = new Counter({
  name: 'role_grants_discord_requests_blocked_total',
  help: 'Requests the guard did not send: held back (schedule_full, failure_budget; retried later), paused (token_rejected, organization_paused; wait for a fix), or a reconciliation yielding to busier traffic (background_yield; waits for an idle slot).',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

export const discordPausesTotal = new Counter({
  name: 'role_grants_discord_pauses_total',
  help: 'Times the circuit breaker paused connected organizations: by a guild (an answer of Discord) or one organization (an unsafe role).',
  labelNames: ['scope'] as const,
  registers: [metricsRegistry],
});

// --- Bulk reviews (the worker) ---

export const bulkReviewItemsTotal = new Counter({
  name: 'role_grants_bulk_review_items_total',
  help: "Items of bulk reviews decided by the intake: recorded, or refused with the refusal's code (not_found, duplicate, invalid_transition).",
  labelNames: ['decision', 'outcome'] as const,
  registers: [metricsRegistry],
});

// --- Task queue backlog (the worker), read from Temporal on each scrape ---

export interface TaskQueueBacklog {
  taskQueue: string;
  taskType: 'workflow' | 'activity';
  backlog: number;
}

/** How long a scrape waits for Temporal's answer about the backlog; without one, the gauge is absent. */
export const BACKLOG_TIMEOUT_MS = 2_000;

const backlogSources = new Set<() => Promise<TaskQueueBacklog[]>>();

/** Adds a reader of task queue backlogs (a process's workers); returns what removes it again. */
export function addTaskQueueBacklogSource(source: () => Promise<TaskQueueBacklog[]>): () => void {
  backlogSources.add(source);
  return () => backlogSources.delete(source);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const taskQueueBacklog = new Gauge({
  name: 'role_grants_task_queue_backlog',
  help: "Tasks waiting in the worker's task queues (Temporal's approximate backlog count, read on each scrape; absent when Temporal does not answer within 2 s).",
  labelNames: ['task_queue', 'task_type'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    const answers = await Promise.allSettled(
      [...backlogSources].map((source) => withTimeout(source(), BACKLOG_TIMEOUT_MS)),
    );
    for (const answer of answers) {
      if (answer.status !== 'fulfilled') continue;
      for (const q of answer.value) this.set({ task_queue: q.taskQueue, task_type: q.taskType }, q.backlog);
    }
  },
});

// --- Who may read /metrics ---

/**
 * The rule for both `/metrics` (the API's and the worker's): with METRICS_TOKEN set, only a request
 * with `Authorization: Bearer <METRICS_TOKEN>`; without it, anyone outside production, nobody in
 * production (the API answers 404, the worker serves no metrics at all).
 */
export function metricsServed(config: Pick<Config, 'isProduction' | 'metrics'>): boolean {
  return config.metrics.token !== undefined || !config.isProduction;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** What a request for `/metrics` gets: 200 (the metrics), 401 (a token is missing or wrong) or 404. */
export function metricsAccess(
  config: Pick<Config, 'isProduction' | 'metrics'>,
  authorization: string | undefined,
): 200 | 401 | 404 {
  if (!metricsServed(config)) return 404;
  const token = config.metrics.token;
  if (token === undefined) return 200;
  const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  // Compared as digests, in constant time: the answer's timing says nothing about the token.
  return given !== undefined && timingSafeEqual(digest(given), digest(token)) ? 200 : 401;
}
