import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bulkReview, connectDiscord, seedApplication } from '../helpers/flows.js';
import { startStack, type Org, type Stack } from '../helpers/stack.js';
import { installSchemathesis, SCHEMATHESIS_VERSION, type Schemathesis } from './install-schemathesis.js';
import { formatSummary, parseJunit, PHASES, summarize, type RunSummary } from './reports.js';

/**
 * Schemathesis against the real API (real Postgres, Temporal and worker, the Discord sandbox): every
 * operation of the OpenAPI document the API serves (fetched, saved to a file and given to `st` with
 * `--url`: loaded from its own URL, Schemathesis leaves `GET /api/openapi.json` out), in all four phases (the document's examples,
 * the coverage phase's boundary and invalid values, random fuzzing, and stateful sequences that
 * follow its links), once as an anonymous client and once as a signed-in admin. The target: no 5xx,
 * and no answer that breaks the description (status, content type, headers, body schema), with
 * data the description forbids rejected, and `st` exiting with 0. The answers' status codes (from the
 * NDJSON report) show that the admin run was signed in (2xx on the operations behind the session) and
 * the anonymous one was not (401 only on the reads behind it).
 *
 * Schemathesis comes from PyPI, pinned with hashes (test/fuzz/requirements.txt), into a cached venv
 * (test/fuzz/install-schemathesis.ts). The file seeds an organization with a public slug, its
 * admin, three applications and a bot connection; every counter of the rate limiters stays at one
 * hit in this file's database; the admin run does not call logout. Each run prints its `st`
 * command and seed; the end prints a Markdown summary of both runs.
 *
 * `npm run test:fuzz` runs this file alone. FUZZ_SEED and FUZZ_MAX_EXAMPLES change the seed and the
 * number of examples per operation and phase; FUZZ_OPENAPI_FILE fuzzes a document from a file
 * instead of the served one; FUZZ_KEEP_REPORTS=1 keeps the reports (JUnit, NDJSON, st's output).
 */

/**
 * Fixed, so a run can be repeated: the seed is printed with the command. The same seed generates the
 * same test cases (the case counts reproduce), but not byte for byte the same requests: the IDs the
 * API hands out (applications, bulk reviews) differ from run to run, and so do the requests built on them.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
/** Per operation and phase: the file takes 1 to 2½ minutes on 2 shared cores (20 s more to install Schemathesis). */
const MAX_EXAMPLES = Number(process.env.FUZZ_MAX_EXAMPLES ?? 25);
const SCHEMA_FILE = process.env.FUZZ_OPENAPI_FILE;
/** One run of `st` may take this long before it is killed (and the test fails). */
const RUN_TIMEOUT_MS = 6 * 60_000;
/**
 * One: requests in one order, so a seed sends the same sequence again (the operations share state:
 * the seeded applications get reviewed), and CPython 3.11's parser is not called from two threads at once
 * (Hypothesis describes filters by parsing their source: "SystemError: AST constructor recursion
 * depth mismatch" in runs with two workers).
 */
const WORKERS = 1;

/**
 * `--checks all` less the checks that judge something other than "no 5xx, and nothing that breaks
 * the description": `unsupported_method` and `allow_header_conformance` want 405 with an `Allow`
 * header for a method the document does not list on a path (the coverage phase sends DELETE, PUT,
 * TRACE, ... to every path); the API answers those with its JSON 404 `not_found`, which breaks no
 * description. (startTestApp's own check of every answer still fails the file when one of them
 * answers anything but 404 or 405.) Everything else runs: not_a_server_error, the four conformance
 * checks (status code, content type, headers, body schema), negative_data_rejection (data the
 * document forbids gets a 4xx), positive_data_acceptance (data it allows is not refused),
 * missing_required_header, ignored_auth (without the session, or with a made-up one, 401), the
 * stateful checks (use_after_free, ensure_resource_availability) and object_level_authorization.
 */
const EXCLUDED_CHECKS = ['unsupported_method', 'allow_header_conformance'];

let st: Schemathesis;
let stack: Stack;
let org: Org;
/** The seeded applications' IDs and a bulk review's: `{id}` of /api/applications/{id}/… and /api/bulk-reviews/{id}. */
let ids: string[];
let cursor: string;
/** A cursor of the audit log (its own kind: the ID of the last entry of a page). */
let auditCursor: string;
let cookie: string;
let workDir: string;
/** Whether the document has examples (`example`, `examples`): without any, the examples phase sends nothing. */
let hasExamples = false;
/** The document's operations (`GET /api/me`), and those behind the session cookie's security scheme. */
let documentOperations: string[] = [];
let sessionOperations: string[] = [];
const summaries: RunSummary[] = [];

beforeAll(async () => {
  st = await installSchemathesis();
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'schemathesis-'));
  stack = await startStack();
  // The fuzzer sends hundreds of requests from one address: with the limits in force (30 public
  // applications a minute, 10 failed sign-ins a quarter hour) nearly every answer would be 429 and
  // the handlers behind them would go untested. Every counter of this file's database stays at one
  // hit (429 itself is in the description, and test/auth.test.ts and others test the limits).
  await stack.db.pool.query(`
    CREATE FUNCTION fuzz_one_hit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.hits := 1; RETURN NEW; END $$;
    CREATE TRIGGER fuzz_one_hit BEFORE INSERT OR UPDATE ON rate_limit_hits FOR EACH ROW EXECUTE FUNCTION fuzz_one_hit();
  `);
  // The public form takes applications without a Discord sign-in, so valid ones are accepted (201).
  org = await stack.createOrg('Fuzz Org', { requireDiscordSignIn: false });
  ids = [
    await seedApplication(stack, org, {}),
    await seedApplication(stack, org, { discord_user_id: '80351110224678912', motivation: 'I like fuzzing' }),
    await seedApplication(stack, org, { discord_user_id: '123' }),
  ];
  cookie = await stack.login(org.adminEmail);
  // The bot connected to a sandbox server: approvals go on to grant (or fail to grant) the role, and
  // the connection's routes answer about a real connection (until the fuzzer disconnects it).
  const guildId = stack.sandbox.createGuild({ name: 'Fuzz Guild' }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
  // A bulk review of an application that does not exist: it changes none of the seeded ones.
  const bulk = await bulkReview(stack, cookie, [randomUUID()], 'reject');
  expect(bulk.status).toBe(202);
  ids.push(bulk.body.bulkId!);
  const res = await stack.api('/api/applications?limit=1', { cookie });
  cursor = ((await res.json()) as { nextCursor: string }).nextCursor;
  expect(cursor).toEqual(expect.any(String));
  const audit = await stack.api('/api/audit-log?limit=1', { cookie });
  auditCursor = ((await audit.json()) as { nextCursor: string }).nextCursor;
  expect(auditCursor).toEqual(expect.any(String));
}, 10 * 60_000);

afterAll(async () => {
  // startTestApp checks every answer against the description and throws the ones that break it
  // when the app closes: after the runs' own findings, those are failures too.
  const closed = await stack?.close().then(
    () => undefined,
    (err: Error) => err,
  );
  if (closed) {
    // stack.close stopped at the app: what it did not close yet.
    await stack.sandbox.close().catch(() => undefined);
    await stack.db.drop().catch(() => undefined);
  }
  if (summaries.length > 0) {
    const location = SCHEMA_FILE ? path.basename(SCHEMA_FILE) : 'the document of GET /api/openapi.json, from a file';
    const options = {
      version: SCHEMATHESIS_VERSION,
      location,
      seed: SEED,
      maxExamples: MAX_EXAMPLES,
      workers: WORKERS,
    };
    // Its message: a heading line, then one line per answer.
    const appCheck = closed?.message.startsWith('Answers that break') ? closed.message.split('\n').length - 1 : 0;
    process.stderr.write(`\n${formatSummary(summaries, { ...options, appCheck })}\n\n`);
  }
  if (workDir && !process.env.FUZZ_KEEP_REPORTS) await fs.rm(workDir, { recursive: true, force: true });
  else if (workDir) process.stderr.write(`[schemathesis] reports kept in ${workDir}\n`);
  if (closed) throw closed;
});

/**
 * schemathesis.toml: the seeded organization's slug and applications' IDs among the values generated
 * for path parameters, a real cursor for `cursor`, and for the admin, its session as the credentials
 * of the document's cookie security scheme.
 */
async function writeConfig(
  dir: string,
  identity: 'anonymous' | 'admin',
  auth: { scheme: string; token: string } | undefined,
): Promise<string> {
  const file = path.join(dir, 'schemathesis.toml');
  const list = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
  const lines = [
    // Half the slugs and IDs are the seeded ones, so handlers get past "no such organization/application/bulk review".
    '[dictionaries.slugs]',
    `values = ${list([org.slug])}`,
    '[dictionaries.ids]',
    `values = ${list(ids)}`,
    '[parameters]',
    '"path.slug" = { dictionary = "slugs", probability = 0.5 }',
    '"path.id" = { dictionary = "ids", probability = 0.5 }',
    // A cursor is opaque: one the API did not give out is rightly refused (400 invalid_cursor), which
    // the document cannot describe, so "schema-valid request rejected" is all a made-up one teaches.
    // Every request with a cursor parameter sends one the API gave out.
    `"query.cursor" = ${JSON.stringify(cursor)}`,
  ];
  lines.push(
    // 422 is this API's answer to a valid request that the state refuses, like 409: an Idempotency-Key
    // already used for another request (the fuzzer sends "0" again and again), a role assignment
    // whose 5 manual retries are spent. Never a validation error (those are 400).
    '[checks.positive_data_acceptance]',
    'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]',
  );
  if (auth) lines.push(`[auth.openapi.${JSON.stringify(auth.scheme)}]`, `api_key = ${JSON.stringify(auth.token)}`);
  if (identity === 'anonymous' && sessionOperations.length > 0) {
    // Without the session every operation behind it answers 401 before reading anything else: a few
    // cases each show that (and that no 2xx slips through); the admin run explores their inputs.
    lines.push(
      '[[operations]]',
      `include-name = ${list(sessionOperations)}`,
      'generation.max-examples = 5',
      'phases.coverage.enabled = false',
    );
  }
  lines.push(
    '[[operations]]',
    'include-name = "GET /api/audit-log"',
    `parameters = { "query.cursor" = ${JSON.stringify(auditCursor)} }`,
    // What answers a form accepts depends on the form's questions now, which the admin run itself
    // edits (PUT /api/forms/{formId} adds required questions): a body the document allows can be
    // refused with 400 naming the question, which the document cannot describe. Every other check
    // still runs on these two operations (no 5xx, answers as described, forbidden data refused).
    '[[operations]]',
    'include-name = ["POST /api/public/organizations/{slug}/applications", "POST /api/public/organizations/{slug}/forms/{formSlug}/applications"]',
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429"]',
  );
  await fs.writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** Whether `value` has, at any depth, an object key that `test` accepts. */
function hasKey(value: unknown, test: (key: string) => boolean): boolean {
  if (Array.isArray(value)) return value.some((v) => hasKey(v, test));
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => test(k) || hasKey(v, test));
}

/** The document's security scheme for the session cookie (`sid`), if it has one. */
function sessionScheme(document: OpenApiDocument): string | undefined {
  for (const [name, scheme] of Object.entries(document.components?.securitySchemes ?? {})) {
    const s = scheme as { type?: string; in?: string; name?: string };
    if (s.type === 'apiKey' && s.in === 'cookie' && s.name === 'sid') return name;
  }
  return undefined;
}

interface Run {
  summary: RunSummary;
  output: string;
  command: string;
  /** `st`'s exit code. */
  code: number | null;
}

/** Signing out would leave the rest of the admin run anonymous: the admin run leaves logout out. */
const ADMIN_EXCLUDED_PATH = '/api/auth/logout';

/**
 * The document to fuzz and the file `st` reads it from: FUZZ_OPENAPI_FILE, or the one the API serves,
 * saved in the work folder. (Given the URL of `GET /api/openapi.json`, Schemathesis leaves that
 * operation out of the run.)
 */
async function loadDocument(): Promise<{ location: string; document: OpenApiDocument }> {
  if (SCHEMA_FILE) return { location: SCHEMA_FILE, document: JSON.parse(await fs.readFile(SCHEMA_FILE, 'utf8')) };
  const url = `${stack.app.baseUrl}/api/openapi.json`;
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  const location = path.join(workDir, 'openapi.json');
  await fs.writeFile(location, text);
  return { location, document: JSON.parse(text) as OpenApiDocument };
}

interface OpenApiDocument {
  security?: Array<Record<string, unknown>>;
  paths?: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The document's operations, `GET /api/me`; with `scheme`, only those whose security requires it. */
function operationsOf(document: OpenApiDocument, scheme?: string): string[] {
  return Object.entries(document.paths ?? {}).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .filter(([, op]) => !scheme || (op.security ?? document.security ?? []).some((req) => scheme in req))
      .map(([method]) => `${method.toUpperCase()} ${p}`),
  );
}

async function runSchemathesis(identity: 'anonymous' | 'admin'): Promise<Run> {
  const dir = path.join(workDir, identity);
  await fs.mkdir(dir, { recursive: true });
  const { location, document } = await loadDocument();
  hasExamples = hasKey(document, (key) => key === 'example' || key === 'examples');
  documentOperations = operationsOf(document);
  const scheme = sessionScheme(document);
  sessionOperations = scheme ? operationsOf(document, scheme) : [];
  const extra: string[] = [];
  const excluded = [...EXCLUDED_CHECKS];
  let auth: { scheme: string; token: string } | undefined;
  if (identity === 'admin') {
    // The CSRF check wants our own Origin on unsafe methods that carry the session cookie.
    extra.push('--header', `Origin: ${stack.app.config.publicBaseUrl}`);
    // Signing out would leave the rest of the run anonymous: the admin run does not call logout.
    extra.push(`--exclude-path=${ADMIN_EXCLUDED_PATH}`);
    if (scheme) {
      // The session as the document's credentials: Schemathesis then knows it for what it is, and its
      // negative cases without it (or with a wrong one) expect the 401 they get.
      auth = { scheme, token: cookie.slice(cookie.indexOf('=') + 1) };
    } else {
      // No scheme to give it to: a plain header, which every request carries, so the session
      // cannot be left out or garbled, and no test case may try to.
      // ignored_auth resends requests without the credentials, which it cannot take out of a
      // header: it would report every signed-in operation.
      extra.push('--header', `Cookie: ${cookie}`, '--generation-with-security-parameters=false');
      excluded.push('ignored_auth');
    }
  }
  const config = await writeConfig(dir, identity, auth);
  const junitPath = path.join(dir, 'junit.xml');
  const ndjsonPath = path.join(dir, 'events.ndjson');
  const args = [
    '--no-color',
    '--config-file',
    config,
    'run',
    location,
    '--url',
    stack.app.baseUrl,
    `--phases=${PHASES.join(',')}`,
    '--checks=all',
    `--exclude-checks=${excluded.join(',')}`,
    `--seed=${SEED}`,
    `--max-examples=${MAX_EXAMPLES}`,
    `--workers=${WORKERS}`,
    '--request-timeout=10',
    '--generation-database=none',
    // Health checks judge how well data is generated (too slow, too much filtered), not the API; on a
    // busy machine `too_slow` would fail a run that found nothing.
    '--suppress-health-check=all',
    // Reproductions with the values sent (the session is this run's, in a database dropped after it).
    '--output-sanitize=false',
    '--report=junit,ndjson',
    `--report-junit-path=${junitPath}`,
    `--report-ndjson-path=${ndjsonPath}`,
    ...extra,
  ];
  const [python, ...prefix] = st.command;
  const command = ['st', ...args.map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a))].join(' ');
  process.stderr.write(
    `[schemathesis] ${identity} (seed ${SEED}): ${command}\n  config ${config}:\n${await fs.readFile(config, 'utf8')}\n`,
  );
  const started = Date.now();
  const { output, code } = await new Promise<{ output: string; code: number | null }>((resolve, reject) => {
    // cwd: a folder of its own, so no schemathesis.toml or .hypothesis of the clone is read or written.
    const child = spawn(python, [...prefix, ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, COLUMNS: '160' },
    });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`st was killed (${signal}) after ${RUN_TIMEOUT_MS} ms:\n${text.slice(-5000)}`));
      else resolve({ output: `${text}\n(exit code ${code})`, code });
    });
  });
  await fs.writeFile(path.join(dir, 'output.txt'), output);
  const junit = await fs.readFile(junitPath, 'utf8').catch(() => {
    throw new Error(`st wrote no JUnit report:\n${output.slice(-5000)}`);
  });
  const summary = summarize(identity, parseJunit(junit), await fs.readFile(ndjsonPath, 'utf8'), Date.now() - started);
  summaries.push(summary);
  return { summary, output, command, code };
}

function expectClean(run: Run): void {
  const { summary } = run;
  const problems = [
    ...summary.failures.map((f) => `FAILURE in ${f.operation}:\n${f.text}`),
    ...summary.errors.map((e) => `ERROR in ${e.operation}:\n${e.text}`),
  ];
  if (problems.length > 0 || run.code !== 0) {
    throw new Error(
      `Schemathesis (${summary.identity}, seed ${SEED}) exited with ${run.code} and found ${problems.length} failure(s) and error(s).\n` +
        `Command: ${run.command}\n\n${problems.join('\n\n')}` +
        // Nothing in the JUnit report: what st printed says why it did not exit with 0.
        (problems.length === 0 ? `st's output:\n${run.output.slice(-5000)}` : ''),
    );
  }
  // It tested every operation of the document (but logout for the admin): Schemathesis selected
  // them all, and each one ran in the coverage and fuzzing phases (examples only exist for some
  // operations, stateful steps only for those that links lead to), and every phase ran some.
  const excluded =
    summary.identity === 'admin' ? documentOperations.filter((op) => op.endsWith(` ${ADMIN_EXCLUDED_PATH}`)) : [];
  expect(summary.operations).toEqual({
    total: documentOperations.length,
    selected: documentOperations.length - excluded.length,
  });
  const operations = Object.keys(summary.cases).filter((label) => /^[A-Z]+ \//.test(label));
  expect(operations.sort()).toEqual(documentOperations.filter((op) => !excluded.includes(op)).sort());
  // (The anonymous run sends the operations behind the session only a few fuzzed cases: see writeConfig.)
  const fuzzedOnly = summary.identity === 'anonymous' ? sessionOperations : [];
  expect(
    operations.filter(
      (op) => !summary.cases[op]!.fuzzing || (!summary.cases[op]!.coverage && !fuzzedOnly.includes(op)),
    ),
  ).toEqual([]);
  expect(PHASES.filter((p) => summary.casesByPhase[p] === 0)).toEqual(
    // The examples phase needs examples in the document: without any it has nothing to send.
    summary.casesByPhase.examples === 0 && !hasExamples ? ['examples'] : [],
  );
}

/** The status codes `operation` was answered with, in the run's counted cases. */
const statusesOf = (summary: RunSummary, operation: string) => Object.keys(summary.statuses[operation] ?? {}).sort();
const succeeded = (statuses: string[]) => statuses.some((s) => /^[23]\d\d$/.test(s));

/** Operations that must be reachable signed in, and are refused with 401 without the session. */
const SIGNED_IN_READS = ['GET /api/me', 'GET /api/applications', 'GET /api/organization/settings'];

/**
 * The session was applied: 401s are in the description, so a run whose session never went out
 * would pass every check (Schemathesis only warns, "Authentication failed"). `GET /api/me` answered
 * 200 at least once, and the operations behind the session a 2xx or 3xx: the three reads above,
 * and at least three in four of them all (some need state that the run may use up first).
 */
function expectSignedIn(summary: RunSummary): void {
  expect(sessionOperations).toEqual(expect.arrayContaining(SIGNED_IN_READS));
  expect({ 'GET /api/me': statusesOf(summary, 'GET /api/me') }).toEqual({
    'GET /api/me': expect.arrayContaining(['200']),
  });
  const tested = sessionOperations.filter((op) => summary.statuses[op]);
  const refused = Object.fromEntries(
    tested.filter((op) => !succeeded(statusesOf(summary, op))).map((op) => [op, summary.statuses[op]]),
  );
  expect(SIGNED_IN_READS.filter((op) => op in refused)).toEqual([]);
  if (Object.keys(refused).length * 4 > tested.length) {
    throw new Error(
      `Signed in, ${Object.keys(refused).length} of ${tested.length} operations behind the session got no 2xx or 3xx: ${JSON.stringify(refused)}`,
    );
  }
}

/**
 * The anonymous run was anonymous: the reads behind the session (whose answers no CSRF or body check
 * comes before) got 401 and nothing else, and no operation behind it got a 2xx or 3xx.
 */
function expectAnonymous(summary: RunSummary): void {
  const reads = sessionOperations.filter((op) => op.startsWith('GET '));
  expect(reads).toEqual(expect.arrayContaining(SIGNED_IN_READS));
  expect(Object.fromEntries(reads.map((op) => [op, statusesOf(summary, op)]))).toEqual(
    Object.fromEntries(reads.map((op) => [op, ['401']])),
  );
  expect(sessionOperations.filter((op) => succeeded(statusesOf(summary, op)))).toEqual([]);
}

const TEST_TIMEOUT_MS = RUN_TIMEOUT_MS + 60_000;

test(
  `Schemathesis ${SCHEMATHESIS_VERSION}, anonymous client: no 5xx, no answer that breaks the description`,
  async () => {
    const run = await runSchemathesis('anonymous');
    expectClean(run);
    expectAnonymous(run.summary);
  },
  TEST_TIMEOUT_MS,
);

test(
  `Schemathesis ${SCHEMATHESIS_VERSION}, signed-in admin: no 5xx, no answer that breaks the description`,
  async () => {
    const run = await runSchemathesis('admin');
    expectClean(run);
    expectSignedIn(run.summary);
  },
  TEST_TIMEOUT_MS,
);
