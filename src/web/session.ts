import { useEffect, useSyncExternalStore } from 'react';
import { api, ApiError, errorMessage } from './api.js';
import type { Me } from './types.js';

export type SessionState =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'signed-in'; me: Me }
  | { status: 'signed-out' }
  | { status: 'error'; message: string };

export interface SessionStore {
  getState(): SessionState;
  subscribe(listener: () => void): () => void;
  /**
   * Loads `/api/me` once. Every caller while it loads gets the same promise, so any number of
   * components asking at once make one request and see the same user; later callers get the
   * stored answer. A failed load stays failed until {@link SessionStore.retry}.
   */
  init(): Promise<SessionState>;
  /** Loads again after an error (or to refresh). */
  retry(): Promise<SessionState>;
  signIn(email: string, password: string): Promise<Me>;
  signOut(): Promise<void>;
}

export type MeLoader = () => Promise<Me>;

const loadMe: MeLoader = () => api<Me>('/api/me');

export function createSessionStore(load: MeLoader = loadMe): SessionStore {
  let state: SessionState = { status: 'idle' };
  let inFlight: Promise<SessionState> | null = null;
  // Bumped by sign-in and sign-out: a load that started before them must not overwrite them.
  let generation = 0;
  const listeners = new Set<() => void>();
  const set = (next: SessionState) => {
    state = next;
    for (const listener of listeners) listener();
  };

  const fetchOnce = (): Promise<SessionState> => {
    if (inFlight) return inFlight;
    const started = generation;
    set({ status: 'loading' });
    inFlight = load()
      .then(
        (me): SessionState => ({ status: 'signed-in', me }),
        (err: unknown): SessionState =>
          err instanceof ApiError && err.status === 401
            ? { status: 'signed-out' }
            : { status: 'error', message: errorMessage(err) },
      )
      .then((next) => {
        inFlight = null;
        if (started !== generation) return state;
        set(next);
        return next;
      });
    return inFlight;
  };

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    init() {
      if (state.status === 'idle' || state.status === 'loading') return fetchOnce();
      return Promise.resolve(state);
    },
    retry: fetchOnce,
    async signIn(email, password) {
      const me = await api<Me>('/api/auth/login', { method: 'POST', body: { email, password } });
      generation += 1;
      set({ status: 'signed-in', me });
      return me;
    },
    async signOut() {
      try {
        await api<void>('/api/auth/logout', { method: 'POST' });
      } finally {
        generation += 1;
        set({ status: 'signed-out' });
      }
    },
  };
}

/** The app's one session store. */
export const sessionStore = createSessionStore();

/** The session, loading it (once, for everyone) on first use. */
export function useSession(store: SessionStore = sessionStore): SessionState {
  const state = useSyncExternalStore(store.subscribe, store.getState, store.getState);
  useEffect(() => {
    void store.init();
  }, [store]);
  return state;
}
