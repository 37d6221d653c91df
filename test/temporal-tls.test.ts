import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { connectTemporal, temporalConnectionOptions, temporalSettingsOf } from '../src/temporal/client.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import {
  makeCertificates,
  startGrpcTlsProxy,
  type GrpcTlsProxy,
  type TestCertificates,
} from './helpers/grpc-tls-proxy.js';
import { readyzStatus } from './helpers/poll.js';
import { runProcess } from './helpers/run.js';

// The Temporal connection over mTLS with an API key (TEMPORAL_TLS_*, TEMPORAL_API_KEY), as the API,
// the worker and the CLI make it. The dev server has no TLS: a proxy in front of it requires a
// client certificate of the test CA and the API key on every call, and forwards the calls.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const SERVER_NAME = 'temporal.test';
const API_KEY = 'test-api-key-0123456789';

let dir: string;
let certs: TestCertificates;
let proxy: GrpcTlsProxy;
let db: TestDatabase;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-tls-'));
  certs = await makeCertificates(dir, SERVER_NAME);
  proxy = await startGrpcTlsProxy({ certs, upstream: process.env.TEST_TEMPORAL_ADDRESS!, apiKey: API_KEY });
  db = await createTestDatabase();
});
afterAll(async () => {
  await proxy.close();
  await db.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The variables an operator sets for an mTLS cluster with API keys. */
const tlsEnv = (overrides: Record<string, string> = {}) => ({
  TEMPORAL_ADDRESS: proxy.address,
  TEMPORAL_TLS_CERT: certs.clientCert,
  TEMPORAL_TLS_KEY: certs.clientKey,
  TEMPORAL_TLS_CA: certs.ca,
  TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  TEMPORAL_API_KEY: API_KEY,
  ...overrides,
});

const callsOf = (method: string) => proxy.forwarded.filter((c) => c.path.endsWith(`/${method}`));

test('the client connects with the client certificate and the API key, and the calls reach the server', async () => {
  const config = loadConfig(tlsEnv());
  expect(config.temporal.tls).toMatchObject({ serverName: SERVER_NAME });
  const before = callsOf('DescribeNamespace').length;
  const client = await connectTemporal({ ...temporalSettingsOf(config), namespace: 'default' });
  try {
    const namespace = await client.workflowService.describeNamespace({ namespace: 'default' });
    expect(namespace.namespaceInfo?.name).toBe('default');
  } finally {
    await client.connection.close();
  }
  expect(callsOf('DescribeNamespace').length).toBe(before + 1);
  expect(callsOf('DescribeNamespace').at(-1)!.clientCn).toBe('client');
});

test('the worker connection (Rust core) goes through the same TLS settings', async () => {
  const config = loadConfig(tlsEnv());
  const connection = await NativeConnection.connect(temporalConnectionOptions(temporalSettingsOf(config)));
  try {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.capabilities).toBeDefined();
  } finally {
    await connection.close();
  }
  expect(callsOf('GetSystemInfo').some((c) => c.clientCn === 'client')).toBe(true);
});

test('without the client certificate, with a stranger CA, or with a wrong API key, nothing gets through', async () => {
  const connect = (env: Record<string, string>) =>
    Connection.connect({
      ...temporalConnectionOptions(temporalSettingsOf(loadConfig(tlsEnv(env)))),
      connectTimeout: '2s',
    });
  const forwardedBefore = proxy.forwarded.length;

  // No client certificate: the TLS handshake is refused.
  const noCert = loadConfig({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_CA: certs.ca,
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    TEMPORAL_API_KEY: API_KEY,
  });
  await expect(
    Connection.connect({ ...temporalConnectionOptions(temporalSettingsOf(noCert)), connectTimeout: '2s' }),
  ).rejects.toThrow();
  // A certificate of another CA: refused too.
  await expect(
    connect({ TEMPORAL_TLS_CERT: certs.strangerCert, TEMPORAL_TLS_KEY: certs.strangerKey }),
  ).rejects.toThrow();
  // The server's certificate checked against its name: another name fails.
  await expect(connect({ TEMPORAL_TLS_SERVER_NAME: 'other.test' })).rejects.toThrow();
  // A wrong API key: the call is refused (UNAUTHENTICATED).
  const refusedBefore = proxy.refusedApiKeys;
  await expect(connect({ TEMPORAL_API_KEY: 'wrong-key' })).rejects.toThrow();
  expect(proxy.refusedApiKeys).toBeGreaterThan(refusedBefore);

  expect(proxy.forwarded.length).toBe(forwardedBefore);
});

test('the CLI reaches Temporal over mTLS with the API key', async () => {
  const before = proxy.forwarded.length;
  // Scoped to an organization of nobody's: the Temporal server is shared with the other test files,
  // whose running role workflows this command must not touch.
  const { code, stdout, stderr } = await runProcess(
    process.execPath,
    [tsx, 'src/bin/cli.ts', 'restart-role-workflows', '--organization', randomUUID()],
    {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, LOG_LEVEL: 'silent', ...tlsEnv() },
    },
  );
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(stdout)).toMatchObject({ checked: 0, restarted: 0 });
  expect(proxy.forwarded.length).toBeGreaterThan(before);
  expect(proxy.forwarded.slice(before).every((c) => c.clientCn === 'client')).toBe(true);
});

test('the API process answers ready through Temporal over mTLS', async () => {
  const { freePort } = await import('../src/ports.js');
  const { spawn } = await import('node:child_process');
  const port = await freePort();
  const child = spawn(process.execPath, [tsx, 'src/bin/api.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: db.url,
      PORT: String(port),
      LOG_LEVEL: 'silent',
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      ...tlsEnv(),
    },
    stdio: 'ignore',
  });
  try {
    expect(await readyzStatus(`http://127.0.0.1:${port}`)).toBe(200);
    expect(callsOf('GetSystemInfo').length).toBeGreaterThan(0);
  } finally {
    child.kill('SIGTERM');
  }
});

test('the worker connects over mTLS; where the search attributes are missing and cannot be added, it stops and says the command', async () => {
  const denying = await startGrpcTlsProxy({
    certs,
    upstream: process.env.TEST_TEMPORAL_ADDRESS!,
    apiKey: API_KEY,
    deniedMethods: ['AddSearchAttributes'],
  });
  const namespace = `tls-${Date.now().toString(36)}`;
  const admin = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  try {
    await admin.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  } finally {
    await admin.close();
  }
  try {
    const { code, stderr } = await runProcess(process.execPath, ['--import', 'tsx', 'src/bin/worker.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: db.url,
        LOG_LEVEL: 'silent',
        TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
        WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
        TEMPORAL_NAMESPACE: namespace,
        ...tlsEnv({ TEMPORAL_ADDRESS: denying.address }),
      },
    });
    expect(code).toBe(1);
    const lines = stderr.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(
      /^The worker failed: the search attributes .*OrganizationId.* are missing in the namespace tls-/,
    );
    expect(lines.at(-1)).toContain(
      `temporal operator search-attribute create --namespace ${namespace} --name OrganizationId --type Keyword`,
    );
    expect(denying.forwarded.some((c) => c.path.endsWith('/ListSearchAttributes') && c.clientCn === 'client')).toBe(
      true,
    );
  } finally {
    await denying.close();
  }
});
