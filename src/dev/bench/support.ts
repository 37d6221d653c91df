/**
 * Helpers of `npm run bench` (src/dev/bench/main.ts): a recording proxy in front of the Discord sandbox
 * (arrival time and status of every request the worker makes), the worker's peak RSS from /proc,
 * percentiles, and the markdown table.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the worker sent to "Discord", as the proxy saw it (times: `performance.now()` of the bench). */
export interface ProxiedRequest {
  method: string;
  /** `METHOD /guilds/:id/members/:id/roles/:id` (snowflakes replaced, without `/api/v10`). */
  route: string;
  guildId: string | null;
  /** The member of a `/members/{id}` route. */
  userId: string | null;
  arrivedAt: number;
  /** When the sandbox's answer (its status line and headers) reached the proxy. */
  answeredAt: number;
  status: number;
}

export interface RecordingProxy {
  /** What DISCORD_API_BASE_URL gets: `<proxy>/api`. */
  apiBaseUrl: string;
  /** Every request since the last `reset()`, in arrival order of their answers. */
  records: ProxiedRequest[];
  reset(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** An HTTP proxy to `targetUrl` (the sandbox's origin) that timestamps every request and its status. */
export async function startRecordingProxy(targetUrl: string): Promise<RecordingProxy> {
  const target = new URL(targetUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let records: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const arrivedAt = performance.now();
    const url = req.url ?? '/';
    const pathname = url.split('?')[0] ?? url;
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
    for (const name of HOP_BY_HOP) delete headers[name];
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: url, headers, agent },
      (answer) => {
        const status = answer.statusCode ?? 502;
        records.push({
          method: req.method ?? 'GET',
          route: `${req.method} ${pathname.replace(/^\/api(\/v\d+)?/, '').replace(/\d{15,21}/g, ':id')}`,
          guildId: /\/guilds\/(\d{15,21})/.exec(pathname)?.[1] ?? null,
          userId: /\/members\/(\d{15,21})/.exec(pathname)?.[1] ?? null,
          arrivedAt,
          answeredAt: performance.now(),
          status,
        });
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        }
        res.writeHead(status, out);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `bench proxy: ${err.message}`, code: 0 }));
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiBaseUrl: `http://127.0.0.1:${port}/api`,
    get records() {
      return records;
    },
    reset: () => {
      records = [];
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** The process's peak RSS (VmHWM) in MB, and that of each of its children (`pid: MB`). */
export async function peakRss(pid: number): Promise<{ mb: number; children: Array<{ pid: number; mb: number }> }> {
  const hwm = async (p: number) => {
    const status = await fs.readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  };
  const childPids = new Set(await childrenOf(pid));
  const children = await Promise.all([...childPids].map(async (c) => ({ pid: c, mb: await hwm(c) })));
  return { mb: await hwm(pid), children };
}

/** The process's RSS now (VmRSS) in MB. */
export async function currentRss(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** The children of a process (of all its threads). */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  const tasks = await fs.readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const task of tasks) {
    const list = await fs.readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    out.push(...list.split(/\s+/).filter(Boolean).map(Number));
  }
  return out;
}

/** The children of `pid` whose command line contains `text` (the embedded Postgres of the bench: `bin/postgres`). */
export async function childrenMatching(pid: number, text: string): Promise<number[]> {
  const found: number[] = [];
  for (const child of await childrenOf(pid)) {
    const cmdline = await fs.readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.replace(/\0/g, ' ').includes(text)) found.push(child);
  }
  return found;
}

const CLOCK_TICKS = 100;

/**
 * CPU seconds used by the processes (user + system, of every thread), their live children, and
 * the children they already reaped (Postgres backends that ended).
 */
export async function cpuSeconds(pids: number[]): Promise<number> {
  let ticks = 0;
  const seen = new Set<number>();
  const visit = async (pid: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command (which may hold spaces): state is field 3, utime 14 ... cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
    for (const child of await childrenOf(pid)) await visit(child);
  };
  for (const pid of pids) await visit(pid);
  return ticks / CLOCK_TICKS;
}

/** Resets the process's peak RSS to its current RSS (`clear_refs` 5, Linux 4.0+); false if refused. */
export async function resetPeakRss(pid: number): Promise<boolean> {
  try {
    await fs.writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The p-th percentile (nearest rank) of `values`; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (values: number[]) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** `median (min–max)` of several runs, or the one value of a single run. */
export function spread(values: number[], digits: number, unit = ''): string {
  if (values.length === 0) return 'n/a';
  const f = (v: number) => `${v.toFixed(digits)}${unit}`;
  if (values.length === 1) return f(values[0]!);
  return `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

export type Verdict = 'pass' | 'FAIL' | '';

export interface Row {
  measure: string;
  result: string;
  target: string;
  verdict: Verdict;
  notes: string;
}

export const verdict = (ok: boolean | null): Verdict => (ok === null ? '' : ok ? 'pass' : 'FAIL');

/** A markdown table of the rows (cells' `|` escaped). */
export function markdownTable(rows: Row[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| Measure | Result | Target | Verdict | Notes |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    lines.push(`| ${[r.measure, r.result, r.target, r.verdict, r.notes].map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The most of `times` (ms) within any `windowMs` (a sliding window, its end excluded). */
export function peakInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= windowMs) j += 1;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}
