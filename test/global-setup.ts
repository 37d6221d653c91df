import fs from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/ports.js';
import { migrate } from '../src/db/migrate.js';
import { resolveTemporalCli } from '../src/dev/temporal/cli.js';
import { startTemporalDevServer } from '../src/dev/temporal/dev-server.js';
import { buildWorkflowBundle } from '../src/temporal/workflow-bundle.js';

/**
 * One real Postgres and one real Temporal dev server for the whole run (not per file), and one
 * workflow bundle. Test files find them through TEST_* variables and clone the migrated template
 * database, so each file has a database of its own.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
  const runDir = path.join(root, '.cache', 'test-run', String(process.pid));
  await removeStaleRunDirs(path.join(root, '.cache', 'test-run'));
  await fs.mkdir(runDir, { recursive: true });

  const cliPath = await resolveTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH });
  const [pg, temporal, bundlePath] = await Promise.all([
    startEmbeddedPostgres({ dataDir: path.join(runDir, 'pg'), persistent: false }),
    freePort().then((port) => startTemporalDevServer({ cliPath, dbFile: path.join(runDir, 'temporal.sqlite'), port })),
    buildWorkflowBundle(path.join(runDir, 'workflow-bundle.js')),
  ]);
  globalThis.__TEST_SERVICES__ = { pg, temporal };

  const admin = pg.url('postgres');
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({ connectionString: admin });
  await client.connect();
  await client.query('CREATE DATABASE app_template');
  await client.end();
  await migrate(pg.url('app_template'));

  process.env.TEST_PG_ADMIN_URL = admin;
  process.env.TEST_PG_TEMPLATE = 'app_template';
  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_TEMPORAL_CLI = cliPath;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.stderr.write(
    `\n[global-setup] Postgres (data in ${pg.dataDir}${pg.runsAs ? `, runs as ${pg.runsAs}` : ''}), Temporal and the workflow bundle ready in ${Date.now() - started} ms\n`,
  );
}

/** Data of earlier runs that were killed; a run still going (another jest) keeps its own. */
async function removeStaleRunDirs(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = Number(entry);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (!alive) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

declare global {
  var __TEST_SERVICES__: { pg: { stop: () => Promise<void> }; temporal: { stop: () => Promise<void> } } | undefined;
}
