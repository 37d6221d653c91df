import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { freePort, portProblem } from '../src/ports.js';
import { StartError } from '../src/start-error.js';

// What a person reads when the embedded Postgres cannot start.

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'embedded-pg-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('its port taken: a StartError naming the port, and nothing is created', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const error = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).message).toBe(
      `Port ${port} is already in use, so the embedded Postgres cannot listen on it.`,
    );
    expect((error as StartError).fix).toMatch(/set DATABASE_URL/);
    expect(await fs.readdir(dir)).toEqual([]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a server that cannot start: a StartError with its own reason and the data folder, and no server left', async () => {
  const port = await freePort();
  const first = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port });
  await first.stop();
  const conf = path.join(first.dataDir, 'postgresql.conf');
  await fs.appendFile(conf, "\nshared_buffers = 'plenty'\n");
  try {
    const error = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).message).toBe(
      `The embedded Postgres (data in ${first.dataDir}) did not start: configuration file "${conf}" contains errors`,
    );
    expect((error as StartError).fix).toMatch(/LOG_LEVEL=debug/);
    expect(await portProblem(port, '127.0.0.1')).toBeUndefined();
    await expect(fs.stat(path.join(first.dataDir, 'postmaster.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
  } finally {
    // As root the data is outside `dir`, in a folder of its own.
    if (first.runsAs) await fs.rm(path.dirname(first.dataDir), { recursive: true, force: true });
  }
});
