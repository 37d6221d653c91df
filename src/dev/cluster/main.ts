import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../../config.js';
import { canBind, startCluster, projectRoot, type Cluster } from './index.js';
import { GO_TOOLCHAIN, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION } from './build.js';
import { startFailureLines } from '../../start-error.js';

/**
 * `npm run cluster`: a production-shaped stack on this machine (see src/dev/cluster/index.ts): the
 * Temporal server built from source on Postgres, its Web UI, the Discord sandbox, 2 workers and 2
 * APIs behind a round-robin proxy. Every child's output is printed with its name. Ctrl-C stops
 * everything; so does the death of any process but the Web UI's, with the reason.
 *
 *   npm run cluster -- [--port 3000] [--apis 2] [--workers 2]
 *
 * DATABASE_URL: a Postgres of your own instead of the embedded one (no demo accounts are seeded
 * there). LOG_LEVEL: the app's processes' level; debug also shows the Temporal server's info lines.
 */
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    apis: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
  },
});
const count = (flag: string, text: string, min: number, max: number) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${flag}: expected an integer from ${min} to ${max}, got "${text}"\n`);
    process.exit(2);
  }
  return n;
};

const base = loadConfigOrExit();
const debug = base.logLevel === 'debug' || base.logLevel === 'trace';
const say = (line: string) => process.stdout.write(`${line}\n`);
const width = 12;
const sink = (name: string, line: string) => {
  // Postgres's own log (and the schema tool's) only with LOG_LEVEL=debug, as npm start does.
  if (!debug && (name === 'postgres' || name === 'sql-tool')) return;
  process.stdout.write(`${`[${name}]`.padEnd(width)} ${line}\n`);
};

let cluster: Cluster | undefined;
let stopping = false;
async function stopAll(code: number, reason?: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (reason) process.stderr.write(`\n${reason}\n`);
    say('\nStopping the cluster...');
    await cluster?.stop();
    say('Stopped.');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  cluster = await startCluster({
    dataDir: path.join(projectRoot, '.data', 'cluster'),
    databaseUrl: base.databaseUrl,
    apis: count('apis', args.apis, 1, 8),
    workers: count('workers', args.workers, 1, 8),
    proxyPort: count('port', args.port, 1, 65535),
    sandboxPort: base.sandbox.port,
    seedDemo: true,
    // The APIs believe X-Forwarded-For from the proxy alone where it can connect from an address of
    // its own (Linux); elsewhere from the whole loopback.
    trust: (await canBind('127.0.0.2')) ? 'proxy-only' : 'loopback',
    logLevel: base.logLevel,
    temporalLogLevel: debug ? 'info' : 'warn',
    sink,
    say,
  });
  const c = cluster;
  c.onUnexpectedExit((name, description) => {
    if (name === 'temporal-ui') {
      say(`The Temporal Web UI server ${description}; the cluster runs on without it.`);
      return;
    }
    const last = [...c.workers, ...c.apis.map((a) => a.process), c.temporal.process]
      .find((p) => p.name === name)
      ?.output.slice(-5)
      .join('\n  ');
    void stopAll(
      1,
      `npm run cluster: ${name} ${description}, so the cluster stops.${last ? `\n  Its last lines:\n  ${last}` : ''}`,
    );
  });

  const t = c.timings;
  say('');
  say(
    `Cluster ready in ${t.startSeconds.toFixed(1)} s` +
      (t.temporalBuildSeconds || t.uiBuildSeconds
        ? ` (of which building the Temporal server ${t.temporalBuildSeconds.toFixed(1)} s, the Web UI ${t.uiBuildSeconds.toFixed(1)} s, with GOTOOLCHAIN=${GO_TOOLCHAIN}).`
        : '.'),
  );
  say(`  App (proxy):       ${c.url}  (round-robin over ${c.apis.length} APIs)`);
  for (const api of c.apis) say(`  ${`${api.name}:`.padEnd(19)}${api.url}`);
  say(`  Workers:           ${c.workers.map((w) => `${w.name} (pid ${w.pid})`).join(', ')}`);
  say(
    `  Temporal gRPC:     ${c.temporal.address}  (server ${TEMPORAL_SERVER_VERSION}, namespace ${c.temporal.namespace})`,
  );
  say(`  Temporal Web UI:   ${c.temporal.uiUrl}  (ui-server ${TEMPORAL_UI_SERVER_VERSION})`);
  say(`  Postgres:          ${c.postgres.databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);
  if (c.postgres.dataDir) say(`  Postgres data:     ${c.postgres.dataDir}`);
  say(`  Discord sandbox:   ${c.sandbox.url}`);
  if (c.demo) {
    say(`  Demo admin login:  ${c.demo.email} / ${c.demo.password}  (organization "${c.demo.slug}")`);
    say(`  Public form:       ${c.url}/apply/${c.demo.slug}`);
  }
  say('Press Ctrl-C to stop everything.');
} catch (err) {
  await cluster?.stop();
  for (const line of startFailureLines(err, { what: 'npm run cluster', debug })) process.stderr.write(`${line}\n`);
  process.exit(1);
}
