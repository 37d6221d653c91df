import { useCallback, useEffect, useRef, useState, type Dispatch, type SetStateAction } from 'react';
import { api, errorMessage } from './api';
import type { Application, DiscordConnection, WebConfig } from './types';

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
  items: Application[];
  nextCursor: string | null;
}

export function listApplications(query: { status?: string; limit?: number; cursor?: string }) {
  const params = new URLSearchParams();
  if (query.status) params.set('status', query.status);
  if (query.limit) params.set('limit', String(query.limit));
  if (query.cursor) params.set('cursor', query.cursor);
  return api<ApplicationPage>(`/api/applications?${params}`);
}

export const getApplication = (id: string) => api<Application>(`/api/applications/${encodeURIComponent(id)}`);

export const reviewApplication = (id: string, decision: 'approve' | 'reject') =>
  api<Application>(`/api/applications/${encodeURIComponent(id)}/review`, { method: 'POST', body: { decision } });

export const retryRole = (id: string) =>
  api<Application>(`/api/applications/${encodeURIComponent(id)}/retry-role`, { method: 'POST' });

export interface BulkResult {
  id: string;
  ok: boolean;
  status?: string;
  /** The application as the review left it. */
  application?: Application;
  error?: { code: string; message: string };
}

export const bulkReview = (ids: string[], decision: 'approve' | 'reject') =>
  api<{ results: BulkResult[] }>('/api/applications/bulk-review', { method: 'POST', body: { ids, decision } });

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
