import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cachedCliPath, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../src/temporal/cli';

let dir: string;
const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
const lines: string[] = [];
const log = (line: string) => void lines.push(line);

async function executable(file: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, '#!/bin/sh\necho fake temporal\n', { mode: 0o755 });
  return file;
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-cli-'));
  lines.length = 0;
  // Nothing on PATH and an empty cache unless a test puts something there.
  process.env.PATH = path.join(dir, 'empty-bin');
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
});
afterEach(async () => {
  process.env.PATH = saved.PATH;
  if (saved.XDG_CACHE_HOME === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
  await fs.rm(dir, { recursive: true, force: true });
});

test('TEMPORAL_CLI_PATH wins over everything else', async () => {
  const explicit = await executable(path.join(dir, 'explicit', 'temporal'));
  await executable(path.join(dir, 'empty-bin', 'temporal'));
  expect(await resolveTemporalCli({ cliPath: explicit, log })).toBe(explicit);
  expect(lines).toEqual([]);
});

test('a TEMPORAL_CLI_PATH that is not an executable file is an error that names it', async () => {
  const missing = path.join(dir, 'nope', 'temporal');
  await expect(resolveTemporalCli({ cliPath: missing, log })).rejects.toThrow(`TEMPORAL_CLI_PATH=${missing}`);
});

test('a temporal on PATH comes next, then the cached build', async () => {
  const cached = await executable(cachedCliPath());
  expect(cached).toBe(path.join(dir, 'cache', 'discord-role-grants', 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal'));
  expect(await resolveTemporalCli({ log })).toBe(cached);
  const onPath = await executable(path.join(dir, 'empty-bin', 'temporal'));
  expect(await resolveTemporalCli({ log })).toBe(onPath);
  expect(lines).toEqual([]); // found, so nothing was installed
});
