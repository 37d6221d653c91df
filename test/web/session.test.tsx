/** @jest-environment jsdom */
import { jest } from '@jest/globals';
import { act, render, screen } from '@testing-library/react';
import { createSessionStore, useSession, type SessionStore } from '../../src/web/session.js';
import { ApiError } from '../../src/web/api.js';
import type { Me } from '../../src/web/types.js';

const ME: Me = {
  user: { id: 'u1', email: 'ada@example.com', role: 'admin' },
  organization: { id: 'o1', slug: 'acme', name: 'Acme' },
};

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('three concurrent initialisations make one request and all see the same user', async () => {
  const pending = deferred<Me>();
  const load = jest.fn(() => pending.promise);
  const store = createSessionStore(load);
  const all = Promise.all([store.init(), store.init(), store.init()]);
  expect(store.getState()).toEqual({ status: 'loading' });
  pending.resolve(ME);
  const states = await all;
  expect(load).toHaveBeenCalledTimes(1);
  for (const state of states) expect(state).toEqual({ status: 'signed-in', me: ME });
  // A later caller gets the stored answer without another request.
  await store.init();
  expect(load).toHaveBeenCalledTimes(1);
});

function Who({ store, label }: { store: SessionStore; label: string }) {
  const session = useSession(store);
  return <p>{`${label}: ${session.status === 'signed-in' ? session.me.user.email : session.status}`}</p>;
}

test('three components mounted together share one load and render the same user', async () => {
  const pending = deferred<Me>();
  const load = jest.fn(() => pending.promise);
  const store = createSessionStore(load);
  render(
    <>
      <Who store={store} label="header" />
      <Who store={store} label="nav" />
      <Who store={store} label="page" />
    </>,
  );
  expect(screen.getByText('header: loading')).toBeTruthy();
  await act(async () => pending.resolve(ME));
  for (const label of ['header', 'nav', 'page']) expect(screen.getByText(`${label}: ada@example.com`)).toBeTruthy();
  expect(load).toHaveBeenCalledTimes(1);
});

test('401 means signed out; another failure is an error that retry clears', async () => {
  const signedOut = createSessionStore(() => Promise.reject(new ApiError(401, 'unauthorized', 'Sign in first.')));
  expect(await signedOut.init()).toEqual({ status: 'signed-out' });

  const load = jest
    .fn<() => Promise<Me>>()
    .mockRejectedValueOnce(new ApiError(0, 'network_error', 'The server cannot be reached.'))
    .mockResolvedValueOnce(ME);
  const store = createSessionStore(load);
  expect(await store.init()).toEqual({ status: 'error', message: 'The server cannot be reached.' });
  // init() does not hammer the API after a failure; retry() loads again.
  expect(await store.init()).toEqual({ status: 'error', message: 'The server cannot be reached.' });
  expect(await store.retry()).toEqual({ status: 'signed-in', me: ME });
  expect(load).toHaveBeenCalledTimes(2);
});

test('sign-out clears the user, and a load that started before it does not bring it back', async () => {
  const fetchMock = jest.fn(async (_url: string, _init?: RequestInit) => ({
    ok: true,
    status: 204,
    text: async () => '',
  }));
  globalThis.fetch = fetchMock as unknown as typeof fetch;
  const pending = deferred<Me>();
  const store = createSessionStore(() => pending.promise);
  const loading = store.init();
  await store.signOut();
  expect(store.getState()).toEqual({ status: 'signed-out' });
  pending.resolve(ME);
  await loading;
  expect(store.getState()).toEqual({ status: 'signed-out' });
  expect(fetchMock).toHaveBeenCalledWith('/api/auth/logout', expect.objectContaining({ method: 'POST' }));
});
