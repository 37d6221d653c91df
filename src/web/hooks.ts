import { useCallback, useEffect, useRef, useState, type Dispatch, type SetStateAction } from 'react';
import { api, ApiError, errorMessage } from './api.js';
import type { Application, DiscordConnection, ListedApplication, ReconciliationRun, WebConfig } from './types.js';
import type { BulkReviewProgress } from '../domain/bulk-review.js';

export interface Resource<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
  set: Dispatch<SetStateAction<T | null>>;
}

/** Loads `load()` on mount and whenever `key` changes; keeps the last good data while reloading. */
export function useResource<T>(load: () => Promise<T>, key: string): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const latest = useRef(0);

  const reload = useCallback(async () => {
    const call = ++latest.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (call !== latest.current) return;
      setData(value);
      setError(null);
    } catch (err) {
      if (call !== latest.current) return;
      setError(errorMessage(err));
    } finally {
      if (call === latest.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
    return () => {
      latest.current += 1;
    };
  }, [key, reload]);

  return { data, error, loading, reload, set: setData };
}

/** Calls `tick` every `ms` while `active`; stops as soon as it is not. */
export function useInterval(tick: () => void, ms: number, active: boolean): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => tickRef.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}

export const CONNECTION_POLL_MS = 2_000;

/** The organization's Discord connection, polled every 2 s while it is connecting. */
export function useDiscordConnection(): Resource<DiscordConnection> {
  const resource = useResource(() => api<DiscordConnection>('/api/discord/connection'), 'connection');
  useInterval(() => void resource.reload(), CONNECTION_POLL_MS, resource.data?.state === 'connecting');
  return resource;
}

let configPromise: Promise<WebConfig> | null = null;
/** `/api/config`, loaded once per page. */
export function useWebConfig(): WebConfig | null {
  const [config, setConfig] = useState<WebConfig | null>(null);
  useEffect(() => {
    configPromise ??= api<WebConfig>('/api/config').catch(() => ({ temporalUiUrl: null }));
    let live = true;
    void configPromise.then((c) => live && setConfig(c));
    return () => {
      live = false;
    };
  }, []);
  return config;
}

export interface ApplicationPage {
  items: ListedApplication[];
  nextCursor: string | null;
}

export function listApplications(query: { status?: string; formId?: string; limit?: number; cursor?: string }) {
  const params = new URLSearchParams();
  if (query.status) params.set('status', query.status);
  if (query.formId) params.set('formId', query.formId);
  if (query.limit) params.set('limit', String(query.limit));
  if (query.cursor) params.set('cursor', query.cursor);
  return api<ApplicationPage>(`/api/applications?${params}`);
}

export const getApplication = (id: string) => api<ListedApplication>(`/api/applications/${encodeURIComponent(id)}`);

/** The latest reconciliation runs, newest first. */
export const listReconciliationRuns = (limit = 20) =>
  api<{ items: ReconciliationRun[] }>(`/api/reconciliation-runs?limit=${limit}`);

/** Records a decision; a note (for reviewers; shown to the applicant when the form shares notes) is optional. */
export const reviewApplication = (id: string, decision: ReviewDecision, note?: string) =>
  api<Application>(`/api/applications/${encodeURIComponent(id)}/review`, {
    method: 'POST',
    body: note?.trim() ? { decision, note: note.trim() } : { decision },
  });

export const retryRole = (id: string) =>
  api<Application>(`/api/applications/${encodeURIComponent(id)}/retry-role`, { method: 'POST' });

export type ReviewDecision = 'approve' | 'reject';

export type { BulkRefusal, BulkReviewProgress } from '../domain/bulk-review.js';

/** Starts a bulk review: the API answers 202 at once and records the decisions in the background. */
export const bulkReview = (ids: string[], decision: ReviewDecision) =>
  api<{ bulkId: string }>('/api/applications/bulk-review', { method: 'POST', body: { ids, decision } });

export const fetchBulkReview = (bulkId: string) =>
  api<BulkReviewProgress>(`/api/bulk-reviews/${encodeURIComponent(bulkId)}`);

export const BULK_POLL_MS = 1_000;

function readStored(key: string | null): string | null {
  if (!key) return null;
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage unavailable (disabled, private mode): nothing to resume
  }
}

function writeStored(key: string | null, value: string | null): void {
  if (!key) return;
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // Storage unavailable: the progress just won't survive a reload.
  }
}

export interface BulkReviewTracker {
  /** The bulk followed (started here or resumed from storage), or null. */
  bulkId: string | null;
  /** Its last progress read, once one was. */
  progress: BulkReviewProgress | null;
  /** While the POST is in flight: the decision and how many IDs it carries. */
  sending: { decision: ReviewDecision; count: number } | null;
  /** The POST was refused or could not be sent. */
  startError: string | null;
  /** The last progress read failed; `retrying` says whether polling goes on (it stops on 401/403). */
  pollError: { message: string; retrying: boolean } | null;
  /** A bulk is being sent or is not done yet: no other should start. */
  running: boolean;
  /** Sends one bulk review of all `ids`; true once the API accepted it. */
  start: (ids: string[], decision: ReviewDecision) => Promise<boolean>;
  /** Stops following the bulk and forgets it (the bulk itself goes on in the background). */
  dismiss: () => void;
}

/**
 * Follows one bulk review at a time. Its ID is kept in `localStorage` under `storageKey` (when
 * given), so a reload picks the progress up again. The progress is read every second until it is
 * `done`; polling stops on unmount, and on a 404 (the stored ID is then forgotten). `onDone` is
 * called once when a bulk seen running (or started here) is done.
 */
export function useBulkReview(
  storageKey: string | null,
  onDone: (progress: BulkReviewProgress) => void,
): BulkReviewTracker {
  const [bulkId, setBulkId] = useState<string | null>(() => readStored(storageKey));
  // What polling learnt, and of which bulk (a new bulk starts with nothing read).
  const [read, setRead] = useState<{
    bulkId: string;
    progress: BulkReviewProgress | null;
    error: BulkReviewTracker['pollError'];
  } | null>(null);
  const [sending, setSending] = useState<BulkReviewTracker['sending']>(null);
  const [startError, setStartError] = useState<string | null>(null);
  const onDoneRef = useRef(onDone);
  onDoneRef.current = onDone;
  const keyRef = useRef(storageKey);
  keyRef.current = storageKey;
  /** Whether the followed bulk was started here or seen running: its end then calls `onDone`. */
  const watchingEnd = useRef(false);
  const sendingRef = useRef(false);

  // Another key (the session's organization became known or changed): follow what it stores.
  useEffect(() => {
    setBulkId(readStored(storageKey));
  }, [storageKey]);

  useEffect(() => {
    if (!bulkId) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const progress = await fetchBulkReview(bulkId);
        if (!live) return;
        setRead({ bulkId, progress, error: null });
        if (progress.done) {
          if (watchingEnd.current) onDoneRef.current(progress);
          watchingEnd.current = false;
          return;
        }
        watchingEnd.current = true;
      } catch (err) {
        if (!live) return;
        if (err instanceof ApiError && err.status === 404) {
          // An unknown bulk: forget it.
          writeStored(keyRef.current, null);
          watchingEnd.current = false;
          setBulkId(null);
          return;
        }
        // Signed out or not allowed: asking again will not help. Anything else may pass.
        const retrying = !(err instanceof ApiError && (err.status === 401 || err.status === 403));
        const error = { message: errorMessage(err), retrying };
        setRead((r) => ({ bulkId, progress: r?.bulkId === bulkId ? r.progress : null, error }));
        if (!retrying) return;
      }
      timer = setTimeout(() => void tick(), BULK_POLL_MS);
    };
    void tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [bulkId]);

  const start = useCallback(async (ids: string[], decision: ReviewDecision) => {
    if (sendingRef.current) return false;
    sendingRef.current = true;
    setSending({ decision, count: ids.length });
    setStartError(null);
    try {
      const accepted = await bulkReview(ids, decision);
      writeStored(keyRef.current, accepted.bulkId);
      watchingEnd.current = true;
      setBulkId(accepted.bulkId);
      return true;
    } catch (err) {
      setStartError(errorMessage(err));
      return false;
    } finally {
      sendingRef.current = false;
      setSending(null);
    }
  }, []);

  const dismiss = useCallback(() => {
    writeStored(keyRef.current, null);
    watchingEnd.current = false;
    setBulkId(null);
    setStartError(null);
  }, []);

  const current = bulkId && read?.bulkId === bulkId ? read : null;
  return {
    bulkId,
    progress: current?.progress ?? null,
    sending,
    startError,
    pollError: current?.error ?? null,
    running: sending !== null || (bulkId !== null && !current?.progress?.done),
    start,
    dismiss,
  };
}

export const ROW_POLL_MS = 1_500;
/** How long a retry the API accepted (202) is followed before the row is left as it reads. */
export const RETRY_FOLLOW_MS = 30_000;

/**
 * Retries the API accepted but the workflow may not have taken yet (the 202 carries the
 * application as it was): `isAwaited(app)` holds until the stored row shows the retry taken
 * (its role change running again, or one more retry counted) or 30 s passed.
 */
export function useAwaitedRetries() {
  const awaited = useRef(new Map<string, { retryCount: number; until: number }>());
  const isAwaited = useCallback((app: Application) => {
    const entry = awaited.current.get(app.id);
    if (!entry) return false;
    const taken = app.roleAssignment.status !== 'failed' || app.roleAssignment.retryCount > entry.retryCount;
    if (taken || Date.now() > entry.until) {
      awaited.current.delete(app.id);
      return false;
    }
    return true;
  }, []);
  const awaitRetry = useCallback((app: Application) => {
    awaited.current.set(app.id, { retryCount: app.roleAssignment.retryCount, until: Date.now() + RETRY_FOLLOW_MS });
  }, []);
  return { isAwaited, awaitRetry };
}

/**
 * Keeps the applications whose role is being assigned fresh: every 1.5 s, each in-flight one is
 * fetched again and replaced, until none is in flight.
 */
export function useRefreshInFlight(
  apps: Application[],
  isInFlight: (a: Application) => boolean,
  replace: (updated: Application) => void,
): void {
  const pending = apps.filter(isInFlight).map((a) => a.id);
  const busy = useRef(false);
  useInterval(
    () => {
      if (busy.current) return;
      busy.current = true;
      void Promise.all(
        pending.map((id) => getApplication(id).then(replace, () => undefined /* the next tick tries again */)),
      ).finally(() => {
        busy.current = false;
      });
    },
    ROW_POLL_MS,
    pending.length > 0,
  );
}
