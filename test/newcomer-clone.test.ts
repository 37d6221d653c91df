import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../src/ports.js';
import { runProcess } from './helpers/run.js';

// A newcomer's clone: `git clone` into a home of mode 0700 (root's own is), `npm ci` (here: the
// run's node_modules, hard-linked, so every path still goes through the 0700 folder), then the
// embedded start of `npm start` in that clone, under umask 077: Postgres, migrations, a query.
// As root, Postgres runs as the `postgres` account, which cannot enter that home: this is where
// the start used to die with `spawn .../initdb EACCES`.

const execFileAsync = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = process.getuid?.() === 0;

let home: string;
let clone: string;
const leftBehind: string[] = [];

/** The clone's own code: what `npm start` does for Postgres, then a row that must survive a restart. */
const START_SCRIPT = `
import { ensureDatabase, startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { migrate } from '../src/db/migrate.js';
import pg from 'pg';

const [port, scratchPort] = process.argv.slice(2).map(Number);
const postgres = await startEmbeddedPostgres({ dataDir: '.data/postgres', port });
await ensureDatabase(postgres, 'discord_role_grants');
const applied = await migrate(postgres.url('discord_role_grants'));
const client = new pg.Client({ connectionString: postgres.url('discord_role_grants') });
await client.connect();
await client.query('CREATE TABLE IF NOT EXISTS newcomer_marker (at timestamptz NOT NULL DEFAULT now())');
await client.query('INSERT INTO newcomer_marker DEFAULT VALUES');
const { rows } = await client.query('SELECT count(*)::int AS n FROM newcomer_marker');
await client.end();
await postgres.stop();

// And a throwaway cluster, as the test run's own Postgres is.
const scratch = await startEmbeddedPostgres({ dataDir: '.cache/test-run/1/pg', port: scratchPort, persistent: false });
await scratch.stop();

console.log(JSON.stringify({ dataDir: postgres.dataDir, runsAs: postgres.runsAs, applied, markers: rows[0].n, scratchDataDir: scratch.dataDir }));
`;

interface StartResult {
  dataDir: string;
  runsAs?: string;
  applied: string[];
  markers: number;
  scratchDataDir: string;
}

async function startInClone(): Promise<StartResult> {
  const tsx = path.join(clone, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const args = [tsx, '.cache/newcomer-start.mts', String(await freePort()), String(await freePort())];
  const { code, stdout, stderr } = await runProcess(
    '/bin/sh',
    ['-c', 'umask 077 && exec "$0" "$@"', process.execPath, ...args],
    {
      cwd: clone,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: process.env.LANG ?? 'C.UTF-8' },
    },
  );
  if (code !== 0) throw new Error(`the start in the clone failed (${code}):\n${stderr}${stdout}`);
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as StartResult;
  if (isRoot) leftBehind.push(path.dirname(result.dataDir));
  return result;
}

beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'newcomer-home-'));
  await fs.chmod(home, 0o700);
  clone = path.join(home, 'discord-role-grants');
  await execFileAsync('git', ['clone', '--quiet', root, clone]);
  await execFileAsync('cp', ['-al', path.join(root, 'node_modules'), path.join(clone, 'node_modules')]);
  await fs.mkdir(path.join(clone, '.cache'), { recursive: true });
  await fs.writeFile(path.join(clone, '.cache', 'newcomer-start.mts'), START_SCRIPT);
}, 30_000);
afterAll(async () => {
  // As root the data lives outside the clone, in a folder of its own.
  for (const dir of leftBehind) await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(home, { recursive: true, force: true });
});

test('the embedded Postgres starts, migrates and keeps its data in a clone inside a 0700 home, under umask 077', async () => {
  const first = await startInClone();
  expect(first.applied.length).toBeGreaterThan(0);
  expect(first.markers).toBe(1);
  if (isRoot) {
    // Run as the postgres account, from a folder it can reach, outside the clone and its home.
    expect(first.runsAs).toBe('postgres');
    expect(first.dataDir).toMatch(/^\/var\/(lib|tmp)\/discord-role-grants\/clusters\/[0-9a-f]{16}\/data$/);
    const { stdout: uid } = await execFileAsync('id', ['-u', 'postgres']);
    expect((await fs.stat(first.dataDir)).uid).toBe(Number(uid.trim()));
  } else {
    expect(first.runsAs).toBeUndefined();
    expect(first.dataDir).toBe(path.join(await fs.realpath(clone), '.data', 'postgres'));
  }

  // A restart finds the same data: nothing left to migrate, the row of the first start is there.
  const second = await startInClone();
  expect(second.dataDir).toBe(first.dataDir);
  expect(second.applied).toEqual([]);
  expect(second.markers).toBe(2);

  // A throwaway cluster is gone once stopped.
  await expect(fs.stat(second.scratchDataDir)).rejects.toMatchObject({ code: 'ENOENT' });
}, 60_000);
