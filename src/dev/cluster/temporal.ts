/**
 * The Temporal server of `npm run cluster`: Postgres persistence and SQL visibility (the databases
 * `temporal` and `temporal_visibility`, set up with the server's own SQL tool), a generated config
 * file and dynamic config file, the `default` namespace with this project's search attributes, and
 * the Temporal Web UI server in front of it.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import pg from 'pg';
import { childProcessEnv } from '../../config.js';
import { searchAttributeKeys } from '../../temporal/search-attributes.js';
import type { TemporalServerBuild } from './build.js';
import { startProcess, type LineSink, type ManagedProcess } from './process.js';

/** Where the Temporal server's databases live: a Postgres server and an account allowed to create databases. */
export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const TEMPORAL_DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

type Log = (line: string) => void;

function databaseUrl(server: PostgresServer, database: string): string {
  const auth = `${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}`;
  return `postgres://${auth}@${server.host}:${server.port}/${encodeURIComponent(database)}`;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function runSqlTool(sqlTool: string, server: PostgresServer, database: string, args: string[], log: Log) {
  const full = [
    '--plugin',
    'postgres12',
    '--endpoint',
    server.host,
    '--port',
    String(server.port),
    '--user',
    server.user,
    '--database',
    database,
    ...args,
  ];
  log(`$ temporal-sql-tool ${full.join(' ')}`);
  await new Promise<void>((resolve, reject) => {
    // The password goes in the environment, not on a command line that `ps` shows.
    const child = spawn(sqlTool, full, {
      env: childProcessEnv({ SQL_PASSWORD: server.password }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const keep = (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l.trim()),
      );
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new Error(`the SQL tool could not run (${err.message})`)));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `temporal-sql-tool ${args[0]} on ${database} exited with ${code}: ${lines.slice(-3).join(' | ')}`,
            ),
          ),
    );
  });
}

/**
 * Creates `temporal` and `temporal_visibility` when missing, sets up their schema version tables
 * (`setup-schema -v 0.0`) when missing, and brings both to the newest schema of the server's
 * release (`update-schema -d <versioned>`, a no-op when they are there already).
 */
export async function setupTemporalDatabases(options: {
  build: TemporalServerBuild;
  server: PostgresServer;
  log?: Log;
}): Promise<void> {
  const log = options.log ?? (() => undefined);
  const { build, server } = options;
  for (const db of TEMPORAL_DATABASES) {
    const found = await query(databaseUrl(server, 'postgres'), 'SELECT 1 FROM pg_database WHERE datname = $1', [
      db.name,
    ]);
    if (found.length === 0) await runSqlTool(build.sqlTool, server, db.name, ['create-database'], log);
    const versioned = await query(
      databaseUrl(server, db.name),
      "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'schema_version'",
    );
    if (versioned.length === 0) await runSqlTool(build.sqlTool, server, db.name, ['setup-schema', '-v', '0.0'], log);
    await runSqlTool(
      build.sqlTool,
      server,
      db.name,
      ['update-schema', '-d', path.join(build.postgresSchemaDir, db.schema, 'versioned')],
      log,
    );
  }
}

export interface TemporalPorts {
  frontend: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

const yamlString = (value: string) => JSON.stringify(value);

/**
 * The server's config: every service in one process, all on 127.0.0.1, Postgres for both stores.
 * Every value is a JSON string or number, which YAML reads as such.
 */
export function serverConfigYaml(options: {
  server: PostgresServer;
  ports: TemporalPorts;
  dynamicConfigFile: string;
  logLevel: string;
}): string {
  const { server, ports } = options;
  const store = (database: string, maxConns: number) => `
      sql:
        pluginName: "postgres12"
        databaseName: ${yamlString(database)}
        connectAddr: ${yamlString(`${server.host}:${server.port}`)}
        connectProtocol: "tcp"
        user: ${yamlString(server.user)}
        password: ${yamlString(server.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (grpc: number, membership: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnIP: "127.0.0.1"`;
  return `# Generated by npm run cluster (src/dev/cluster/temporal.ts); rewritten at every start.
log:
  stdout: true
  level: ${yamlString(options.logLevel)}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${store('temporal', 20)}
    postgres-visibility:${store('temporal_visibility', 10)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"

services:
  frontend:${service(ports.frontend, ports.frontendMembership)}
  history:${service(ports.history, ports.historyMembership)}
  matching:${service(ports.matching, ports.matchingMembership)}
  worker:${service(ports.worker, ports.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: ${yamlString(`127.0.0.1:${ports.frontend}`)}

dcRedirectionPolicy:
  policy: "noop"

archival:
  history:
    state: "disabled"
  visibility:
    state: "disabled"

namespaceDefaults:
  archival:
    history:
      state: "disabled"
    visibility:
      state: "disabled"

dynamicConfigClient:
  filepath: ${yamlString(options.dynamicConfigFile)}
  pollInterval: "10s"
`;
}

/**
 * The dynamic config the app needs. In v1.32 everything it uses is on by default: workflow updates
 * (update-with-start of a review: `frontend.enableUpdateWorkflowExecution`, and its async accept),
 * and UpdateTaskQueueConfig's queue rate limit, which only the priority-aware matcher
 * (`matching.useNewMatcher`) enforces. They are written out anyway, so that a server whose defaults
 * change still runs the app, and the file says what it depends on. Search attributes registered
 * through the operator API are read at once instead of after the cache's refresh.
 */
export const DYNAMIC_CONFIG_YAML = `# Generated by npm run cluster (src/dev/cluster/temporal.ts).
frontend.enableUpdateWorkflowExecution:
  - value: true
frontend.enableUpdateWorkflowExecutionAsyncAccepted:
  - value: true
matching.useNewMatcher:
  - value: true
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
limit.maxIDLength:
  - value: 255
`;

export interface TemporalServerProcess {
  address: string;
  process: ManagedProcess;
  configFile: string;
}

/** Connects, calls `fn`, closes; retried until `timeoutMs` (the server's services join one by one). */
async function withConnection<T>(
  address: string,
  fn: (connection: Connection) => Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      return await fn(connection);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s: ${(last as Error)?.message}`);
}

/** The frontend answers and the system namespace (created by the server itself) is readable. */
export async function waitForTemporal(address: string, timeoutMs = 120_000): Promise<void> {
  await withConnection(
    address,
    (c) => c.workflowService.describeNamespace({ namespace: 'temporal-system' }),
    timeoutMs,
    `The Temporal server at ${address} did not answer`,
  );
}

/** A JSON log line of the server as `level msg error (key=value...)`, without its stack trace. */
export function condenseServerLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const {
      level,
      ts: _ts,
      msg,
      error,
      stacktrace: _stack,
      'logging-call-at': _at,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${String(level).toUpperCase()} ${String(msg)}${error ? `: ${String(error)}` : ''}${extra ? ` (${extra})` : ''}`;
  } catch {
    return line;
  }
}

/** Starts the server from `configFile` (written by `writeServerConfig`) and waits until it answers. */
export async function startTemporalServer(options: {
  build: TemporalServerBuild;
  configFile: string;
  address: string;
  sink: LineSink;
}): Promise<TemporalServerProcess> {
  const child = await startProcess(
    {
      name: 'temporal',
      command: options.build.server,
      args: ['--config-file', options.configFile, '--allow-no-auth', 'start'],
      ready: () => waitForTemporal(options.address),
      readyTimeoutMs: 150_000,
      stopTimeoutMs: 20_000,
    },
    (name, line) => options.sink(name, condenseServerLine(line)),
  );
  return { address: options.address, process: child, configFile: options.configFile };
}

export async function writeServerConfig(options: {
  dir: string;
  server: PostgresServer;
  ports: TemporalPorts;
  logLevel: string;
}): Promise<string> {
  await fs.mkdir(options.dir, { recursive: true });
  const dynamicConfigFile = path.join(options.dir, 'dynamic-config.yaml');
  const configFile = path.join(options.dir, 'temporal-server.yaml');
  await fs.writeFile(dynamicConfigFile, DYNAMIC_CONFIG_YAML);
  // It holds the database password.
  await fs.writeFile(configFile, serverConfigYaml({ ...options, dynamicConfigFile }), { mode: 0o600 });
  return configFile;
}

const grpcCode = (err: unknown) => (err as { code?: number }).code;

/**
 * The namespace (3 days of retention) and this project's search attributes (Keyword), each made
 * when missing; waits until both can be read back.
 */
export async function ensureNamespace(address: string, namespace: string, log: Log = () => undefined): Promise<void> {
  await withConnection(
    address,
    async (connection) => {
      try {
        await connection.workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs('3 days'),
        });
        log(`Registered the namespace ${namespace}.`);
      } catch (err) {
        if (grpcCode(err) !== 6 /* ALREADY_EXISTS */) throw err;
      }
      await connection.workflowService.describeNamespace({ namespace });
    },
    60_000,
    `The namespace ${namespace} could not be registered`,
  );
  await withConnection(
    address,
    async (connection) => {
      const existing = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = searchAttributeKeys.filter((k) => !(k.name in (existing.customAttributes ?? {})));
      if (missing.length === 0) return;
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(
          missing.map((k) => [k.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
        ),
      });
      log(`Registered the search attributes ${missing.map((k) => k.name).join(', ')} in ${namespace}.`);
      throw new Error('registered; reading them back');
    },
    60_000,
    `The search attributes of ${namespace} could not be registered`,
  );
}

/** The Web UI server's config (`<dir>/ui/cluster.yaml`): the embedded UI, plain HTTP on 127.0.0.1. */
export async function startUiServer(options: {
  binary: string;
  dir: string;
  port: number;
  temporalAddress: string;
  namespace: string;
  sink: LineSink;
}): Promise<{ url: string; process: ManagedProcess }> {
  const configDir = path.join(options.dir, 'ui');
  await fs.mkdir(configDir, { recursive: true });
  await fs.writeFile(
    path.join(configDir, 'cluster.yaml'),
    `# Generated by npm run cluster (src/dev/cluster/temporal.ts).
temporalGrpcAddress: ${yamlString(options.temporalAddress)}
host: "127.0.0.1"
port: ${options.port}
publicPath: ""
enableUi: true
defaultNamespace: ${yamlString(options.namespace)}
hideLogs: true
disableNewsFetch: true
notifyOnNewVersion: false
refreshInterval: 0s
cors:
  # Plain HTTP: the CSRF cookie cannot be Secure.
  cookieInsecure: true
  allowOrigins:
    - ${yamlString(`http://127.0.0.1:${options.port}`)}
    - ${yamlString(`http://localhost:${options.port}`)}
auth:
  enabled: false
`,
  );
  const url = `http://127.0.0.1:${options.port}`;
  const child = await startProcess(
    {
      name: 'temporal-ui',
      command: options.binary,
      args: ['--root', options.dir, '--config', 'ui', '--env', 'cluster', 'start'],
      ready: () => waitForHttp(`${url}/healthz`, 60_000),
      readyTimeoutMs: 60_000,
    },
    options.sink,
  );
  return { url, process: child };
}

/** Polls `url` until it answers 2xx. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get(url, { timeout: 2_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
    if (status >= 200 && status < 300) return;
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer 2xx within ${timeoutMs / 1000} s (last: ${status})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
