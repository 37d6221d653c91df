/** Reads what `st run --report junit,ndjson` writes, for test/fuzz/schemathesis.test.ts. */

export const PHASES = ['examples', 'coverage', 'fuzzing', 'stateful'] as const;
export type Phase = (typeof PHASES)[number];

export interface JunitCase {
  /** `POST /api/auth/login`, or `Stateful tests`. */
  name: string;
  failures: string[];
  errors: string[];
  skipped: boolean;
}

export interface RunSummary {
  identity: string;
  /** Operations the document has, and how many of them this run selected (`--exclude-path` and the like). */
  operations: { total: number; selected: number };
  /**
   * Test cases sent (requests with their checks), by operation and phase; stateful steps under their
   * operation. Only requests with the operation's own method: the coverage phase's probes of a
   * path with methods the document does not list on it (DELETE, PUT, TRACE, ...) are `otherMethods`.
   */
  cases: Record<string, Partial<Record<Phase, number>>>;
  casesByPhase: Record<Phase, number>;
  /** The coverage phase's requests with a method the operation does not have, in all. */
  otherMethods: number;
  /** The status codes answered, by operation (the cases counted in `cases`); `none` when no answer came. */
  statuses: Record<string, Record<string, number>>;
  /** The names of the checks that ran on at least one answer. */
  checks: string[];
  /** Stateful scenarios (sequences of calls that follow the document's links). */
  statefulScenarios: number;
  /** Failures and errors from the JUnit report, each with Schemathesis's text (its curl reproduction). */
  failures: Array<{ operation: string; text: string }>;
  errors: Array<{ operation: string; text: string }>;
  ms: number;
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');

/** The `<testcase>` elements of Schemathesis's JUnit report (one per operation, one for the stateful tests). */
export function parseJunit(xml: string): JunitCase[] {
  const cases: JunitCase[] = [];
  const testcase = /<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const [, attrs = '', body = ''] of xml.matchAll(testcase)) {
    const name = unescapeXml(/\bname="([^"]*)"/.exec(attrs)?.[1] ?? '?');
    const texts = (tag: string) =>
      [...body.matchAll(new RegExp(`<${tag}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${tag}>)`, 'g'))].map(
        ([, a = '', text = '']) => unescapeXml(text.trim() || /\bmessage="([^"]*)"/.exec(a)?.[1] || tag),
      );
    cases.push({ name, failures: texts('failure'), errors: texts('error'), skipped: /<skipped\b/.test(body) });
  }
  return cases;
}

interface NdjsonScenario {
  phase: string;
  status: string;
  recorder?: {
    label?: string;
    cases?: Record<string, { value?: { method?: string; path?: string } }>;
    checks?: Record<string, Array<{ name: string; status: string }>>;
    interactions?: Record<string, { response?: { status_code?: number } | null }>;
  };
}

/** A JUnit failure's text holds every failing test case of the operation: `1. Test Case ID: …`, `2. …`. */
function splitCases(text: string): string[] {
  const parts = text.split(/\n(?=\d+\. Test Case ID: )/).map((t) => t.trim());
  return parts.filter((t) => t !== '');
}

/** Counts from the NDJSON event stream, failures from the JUnit report. */
export function summarize(identity: string, junit: JunitCase[], ndjson: string, ms: number): RunSummary {
  const cases: RunSummary['cases'] = {};
  const casesByPhase = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  const statuses: RunSummary['statuses'] = {};
  let otherMethods = 0;
  const checks = new Set<string>();
  let operations = { total: 0, selected: 0 };
  let statefulScenarios = 0;
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as Record<string, unknown>;
    const loaded = event.LoadingFinished as { statistic?: { operations?: { total: number; selected: number } } };
    if (loaded?.statistic?.operations) operations = loaded.statistic.operations;
    const scenario = event.ScenarioFinished as NdjsonScenario | undefined;
    if (!scenario?.recorder?.cases) continue;
    const phase = scenario.phase as Phase;
    if (!PHASES.includes(phase)) continue;
    if (phase === 'stateful') statefulScenarios += 1;
    const label = scenario.recorder.label ?? '?';
    for (const [id, recorded] of Object.entries(scenario.recorder.cases)) {
      // A stateful scenario's steps are each an operation's; the other phases' scenarios are one
      // operation each, whose label is `METHOD /path`.
      const value = recorded.value;
      const operation = phase === 'stateful' && value?.method && value.path ? `${value.method} ${value.path}` : label;
      // The coverage phase also sends the path other methods (to see that they are refused): those
      // are no test of this operation.
      if (value?.method && value.method.toUpperCase() !== operation.split(' ')[0]) {
        otherMethods += 1;
        continue;
      }
      (cases[operation] ??= {})[phase] = (cases[operation][phase] ?? 0) + 1;
      casesByPhase[phase] += 1;
      const status = String(scenario.recorder.interactions?.[id]?.response?.status_code ?? 'none');
      const byStatus = (statuses[operation] ??= {});
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    for (const list of Object.values(scenario.recorder.checks ?? {})) for (const c of list) checks.add(c.name);
  }
  return {
    identity,
    operations,
    cases,
    casesByPhase,
    otherMethods,
    statuses,
    checks: [...checks].sort(),
    statefulScenarios,
    failures: junit.flatMap((c) =>
      c.failures.flatMap((text) => splitCases(text).map((t) => ({ operation: c.name, text: t }))),
    ),
    errors: junit.flatMap((c) => c.errors.map((text) => ({ operation: c.name, text }))),
    ms,
  };
}

const pad = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;

/** A Markdown summary of the runs, to paste in a README as it is. */
export function formatSummary(
  runs: RunSummary[],
  options: {
    version: string;
    location: string;
    seed: number;
    maxExamples: number;
    workers: number;
    /** Distinct answers that startTestApp's check of every answer found to break the description. */
    appCheck?: number;
  },
): string {
  const lines = [
    `Schemathesis ${options.version} on ${options.location}: seed ${options.seed}, at most ${options.maxExamples} examples per operation and phase, ${options.workers} worker${options.workers === 1 ? '' : 's'}.`,
    '',
    pad([
      'identity',
      'operations tested',
      ...PHASES,
      'test cases',
      'other methods',
      'stateful scenarios',
      'failures',
      'errors',
      'time',
    ]),
    pad(['---', '---:', ...PHASES.map(() => '---:'), '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const run of runs) {
    const tested = Object.keys(run.cases).length;
    const total = PHASES.reduce((sum, p) => sum + run.casesByPhase[p], 0);
    lines.push(
      pad([
        run.identity,
        `${tested} of ${run.operations.selected}${run.operations.selected < run.operations.total ? ` (${run.operations.total} in the document)` : ''}`,
        ...PHASES.map((p) => run.casesByPhase[p]),
        total,
        run.otherMethods,
        run.statefulScenarios,
        run.failures.length,
        run.errors.length,
        `${(run.ms / 1000).toFixed(1)} s`,
      ]),
    );
  }
  const operations = [...new Set(runs.flatMap((r) => Object.keys(r.cases)))].sort(
    (a, b) => a.replace(/^\S+ /, '').localeCompare(b.replace(/^\S+ /, '')) || a.localeCompare(b),
  );
  lines.push('', 'Test cases by operation (examples / coverage / fuzzing / stateful):', '');
  lines.push(pad(['operation', ...runs.map((r) => r.identity)]), pad(['---', ...runs.map(() => '---:')]));
  for (const op of operations) {
    lines.push(
      pad([
        `\`${op}\``,
        ...runs.map((r) => (r.cases[op] ? PHASES.map((p) => r.cases[op]![p] ?? 0).join(' / ') : 'not run')),
      ]),
    );
  }
  const checks = [...new Set(runs.flatMap((r) => r.checks))].sort();
  lines.push(
    '',
    "Test cases: requests with the operation's own method. Other methods: the coverage phase's requests to its path with methods it does not have, counted apart.",
  );
  lines.push('', `Checks: ${checks.join(', ')}.`);
  if (options.appCheck !== undefined) {
    lines.push(`startTestApp's check of every answer against the description: ${options.appCheck} that break it.`);
  }
  return lines.join('\n');
}
