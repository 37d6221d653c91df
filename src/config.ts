import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { z } from 'zod';
import { DEFAULT_REQUESTS_PER_SECOND, MAX_REQUESTS_PER_SECOND } from './discord/guard.js';

/**
 * The only reader of `process.env`. Every variable of the README's Configuration table is declared
 * here with its default; `loadConfig` reports every problem at once, in words a person can act on.
 */

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

// `URL.canParse('localhost:3000')` is true (scheme "localhost:"): insist on http(s), or the origin
// of PUBLIC_BASE_URL would be "null" and the CSRF check would refuse every request.
const isHttpUrl = (v: string) => URL.canParse(v) && ['http:', 'https:'].includes(new URL(v).protocol);

const urlString = (example: string) =>
  z
    .string()
    .trim()
    .refine(isHttpUrl, { message: `must be an absolute http(s) URL such as ${example}` })
    .transform((v) => v.replace(/\/+$/, ''));

const envSchema = z.object({
  /** `production` makes every secret mandatory. (Default: development) */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** HTTP port of the API. (Default: 3000) */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** The address the API and the worker's metrics server listen on (`127.0.0.1`, `::`). (Default: every interface) */
  HOST: z
    .string()
    .trim()
    .refine((v) => net.isIP(v) !== 0 || v === 'localhost', {
      message: 'must be an IP address such as 127.0.0.1, or localhost',
    })
    .optional(),
  /** External URL of the API; the OAuth redirect_uri hangs off it. (Default: http://localhost:${PORT}) */
  PUBLIC_BASE_URL: urlString('http://localhost:3000').optional(),
  /** Postgres connection string. (Default: the embedded Postgres of `npm start`) */
  DATABASE_URL: optionalString,
  /** Temporal frontend host:port. (Default: the embedded Temporal dev server of `npm start`) */
  TEMPORAL_ADDRESS: optionalString,
  /**
   * TLS to Temporal: `true` with the system's CAs, `false` to refuse it. (Default: on when another
   * TEMPORAL_TLS_* variable or TEMPORAL_API_KEY is set, off otherwise)
   */
  TEMPORAL_TLS: z.stringbool().optional(),
  /** Client certificate for mTLS: a PEM file's path, or the PEM itself. (Default: none) */
  TEMPORAL_TLS_CERT: optionalString,
  /** The client certificate's private key, path or PEM; goes with TEMPORAL_TLS_CERT. (Default: none) */
  TEMPORAL_TLS_KEY: optionalString,
  /** CA that signed the server's certificate, path or PEM. (Default: the system's CAs) */
  TEMPORAL_TLS_CA: optionalString,
  /** Name the server's certificate must carry, when it is not the address's host. (Default: the host) */
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  /** Temporal Cloud API key, sent as a bearer token; turns TLS on. (Default: none) */
  TEMPORAL_API_KEY: optionalString,
  /** (Default: default) */
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  /** Task queue of workflows and Postgres activities. (Default: role-grants) */
  TEMPORAL_TASK_QUEUE: z.string().trim().min(1).default('role-grants'),
  /** Task queue of the activities that call Discord, rate limited for all workers together. (Default: role-grants-discord) */
  TEMPORAL_DISCORD_TASK_QUEUE: z.string().trim().min(1).default('role-grants-discord'),
  TEMPORAL_DISCORD_CONNECTION_TASK_QUEUE: z.string().trim().min(1).default('role-grants-discord-connections'),
  TEMPORAL_DISCORD_BACKGROUND_TASK_QUEUE: z.string().trim().min(1).default('role-grants-discord-background'),
  /** How often each connected organization's reconciliation runs (its Temporal Schedule). */
  DISCORD_RECONCILE_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
  /** Discord calls per second across all workers; Discord allows 50 per bot. (Default: 40) */
  DISCORD_MAX_REQUESTS_PER_SECOND: z.coerce
    .number()
    .positive()
    .max(MAX_REQUESTS_PER_SECOND)
    .default(DEFAULT_REQUESTS_PER_SECOND),
  /** Where people open the Temporal Web UI. (Default: http://localhost:8233 with the embedded default) */
  TEMPORAL_UI_URL: urlString('http://localhost:8233').optional(),
  DISCORD_CLIENT_ID: optionalString,
  DISCORD_CLIENT_SECRET: optionalString,
  DISCORD_BOT_TOKEN: optionalString,
  /** Discord REST base, without version. (Default: https://discord.com/api) */
  DISCORD_API_BASE_URL: urlString('https://discord.com/api').default('https://discord.com/api'),
  /** (Default: https://discord.com/oauth2/authorize) */
  DISCORD_AUTHORIZE_URL: urlString('https://discord.com/oauth2/authorize').default(
    'https://discord.com/oauth2/authorize',
  ),
  /** Name of the role granted to approved applicants. (Default: Approved) */
  DISCORD_APPROVED_ROLE_NAME: z.string().trim().min(1).max(100).default('Approved'),
  /** HMAC key for OAuth state, at least 32 bytes. (Default: generated in development; required in production) */
  STATE_SIGNING_SECRET: optionalString,
  /** AES-256 key of applicants' Discord tokens at rest: 32 bytes, base64. (Default: generated in development; required in production) */
  TOKEN_ENCRYPTION_KEY: optionalString,
  /**
   * Which proxies in front of the API are believed when they say who the client is
   * (X-Forwarded-For): a hop count, or addresses and subnets (`loopback`, `10.0.0.0/8`, …), comma
   * separated. (Default: none, the header is ignored)
   */
  TRUST_PROXY: optionalString,
  /** pino level. (Default: info) */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Hours a sign-in lasts. (Default: 12) */
  SESSION_TTL_HOURS: z.coerce.number().positive().default(12),
  /**
   * Bearer token that `/metrics` (the API's and the worker's) asks for, at least 16 characters.
   * (Default: none: /metrics open to anyone outside production, not served in production)
   */
  METRICS_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters long, for example `openssl rand -hex 24`',
  }),
  /** Port of the worker's /metrics server (`npm run start:worker`), `off` for none. (Default: 9464) */
  WORKER_METRICS_PORT: z
    .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], {
      message: 'must be a port number (0 to 65535) or off',
    })
    .default(9464),
  /**
   * host:port where the Temporal SDK serves its own metrics (Prometheus, no authentication), e.g.
   * 127.0.0.1:9465. (Default: off)
   */
  TEMPORAL_METRICS_ADDRESS: optionalString.refine(
    // An IPv6 host in brackets: [::1]:9465.
    (v) =>
      v === undefined ||
      (/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v) && Number(v.split(':').pop()) <= 65535),
    { message: 'must be host:port, for example 127.0.0.1:9465 or 0.0.0.0:9465' },
  ),
  /** A Temporal CLI to use instead of the one `npm start` and `npm test` install. (Default: found or installed) */
  TEMPORAL_CLI_PATH: optionalString,
  /** Where the embedded default's Discord sandbox listens. (Default: 127.0.0.1:3001) */
  SANDBOX_HOST: z.string().trim().min(1).default('127.0.0.1'),
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** The prebuilt workflow bundle the worker loads. (Default: dist/workflow-bundle.js, built at start when missing) */
  WORKFLOW_BUNDLE_PATH: optionalString,
  /** The commit the worker was built from, for its build ID where there is no .git (an image). (Default: git rev-parse HEAD) */
  BUILD_COMMIT: optionalString,
  /**
   * Where decision emails are sent: smtp://user:pass@host:587 (STARTTLS when offered) or
   * smtps://user:pass@host:465. (Default: none, no emails; `npm start` uses its local SMTP sink)
   */
  SMTP_URL: optionalString,
  /** The From of decision emails. (Default: Applications <no-reply@<host of PUBLIC_BASE_URL>>) */
  MAIL_FROM: optionalString,
});

export type Env = Record<string, string | undefined>;

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  /** Where the API and the worker's metrics server listen; undefined: every interface. */
  host: string | undefined;
  publicBaseUrl: string;
  databaseUrl: string | undefined;
  temporal: {
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    discordTaskQueue: string;
    /** The Discord activities of connections and checks: never behind a bulk's backlog of grants. */
    discordConnectionTaskQueue: string;
    /** Reconciliations' Discord activities: a few slots of their own, never taking a grant's. */
    discordBackgroundTaskQueue: string;
    uiUrl: string | undefined;
    /** TLS to the Temporal frontend; undefined for plain TCP. */
    tls: TemporalTls | undefined;
    apiKey: string | undefined;
  };
  /** Express's `trust proxy`: false (none), a hop count, or the trusted addresses and subnets. */
  trustProxy: false | number | string[];
  discord: {
    clientId: string | undefined;
    clientSecret: string | undefined;
    botToken: string | undefined;
    apiBaseUrl: string;
    authorizeUrl: string;
    approvedRoleName: string;
    maxRequestsPerSecond: number;
    /** Each connected organization's reconciliation runs this often. */
    reconcileIntervalMinutes: number;
  };
  stateSigningSecret: string;
  /** Encrypts applicants' Discord tokens at rest (AES-256-GCM). */
  tokenEncryptionKey: Buffer;
  /** True when the key was generated for this process because none was configured. */
  tokenEncryptionKeyGenerated: boolean;
  /** True when the secret was generated for this process because none was configured. */
  stateSigningSecretGenerated: boolean;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  sessionTtlHours: number;
  metrics: {
    /** The bearer token `/metrics` asks for; undefined: none (open outside production, not served in production). */
    token: string | undefined;
    /** Port of the worker process's /metrics server (0: any free one), or null for none. */
    workerPort: number | null;
    /** host:port of the Temporal SDK's Prometheus exporter, or undefined (off). */
    temporalAddress: string | undefined;
  };
  workflowBundlePath: string | undefined;
  buildCommit: string | undefined;
  temporalCliPath: string | undefined;
  sandbox: { host: string; port: number };
  /** Decision emails: sent only when `smtpUrl` is set. */
  mail: MailConfig;
}

export interface MailConfig {
  /** smtp:// or smtps:// URL, credentials included (never logged); undefined: no emails. */
  smtpUrl: string | undefined;
  /** The From header, e.g. `Applications <no-reply@example.org>`. */
  from: string;
}

export interface TemporalTls {
  /** The name the server's certificate is checked against, when not the address's host. */
  serverName?: string;
  /** The CA of the server's certificate, when not one the system trusts. */
  ca?: Buffer;
  /** mTLS: this process's certificate and key. */
  clientCert?: { crt: Buffer; key: Buffer };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Which settings this process cannot run without, beyond the production secrets. */
  require?: Array<'DATABASE_URL' | 'TEMPORAL_ADDRESS' | 'TOKEN_ENCRYPTION_KEY'>;
}

/** Names whose values never appear in a message: they are, or may carry, credentials. */
const isSensitive = (name: string) => /SECRET|TOKEN|PASSWORD|DATABASE_URL|API_KEY|TLS_KEY|SMTP_URL/.test(name);

/**
 * A PEM given inline (anything holding a -----BEGIN line or a line break: `openssl pkcs12` output
 * starts with "Bag Attributes"), or the file it is in. A problem names the file, never a value that
 * may be the PEM itself, and never the value of a private key's variable.
 */
function readPem(name: string, raw: string | undefined, problems: string[]): Buffer | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  if (value.includes('-----BEGIN') || /[\r\n]|\\n/.test(value)) {
    const pem = value.replace(/\\n/g, '\n');
    if (!pem.includes('-----BEGIN')) problems.push(`${name}: holds text that is not PEM (no -----BEGIN line)`);
    return Buffer.from(pem.endsWith('\n') ? pem : `${pem}\n`);
  }
  const shown = name.endsWith('_KEY') || value.length > 512 ? 'the file it names' : value;
  try {
    const pem = fs.readFileSync(value);
    if (!pem.toString('utf8').includes('-----BEGIN')) {
      problems.push(`${name}: ${shown} is not a PEM file (no -----BEGIN line)`);
      return undefined;
    }
    return pem;
  } catch (err) {
    problems.push(`${name}: cannot read ${shown} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    return undefined;
  }
}

/** `wanted` is TEMPORAL_TLS as the schema read it (true, false, or not set). */
function temporalTls(env: Env, wanted: boolean | undefined, problems: string[]): TemporalTls | undefined {
  const crt = readPem('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT, problems);
  const key = readPem('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY, problems);
  const ca = readPem('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA, problems);
  if (Boolean(env.TEMPORAL_TLS_CERT) !== Boolean(env.TEMPORAL_TLS_KEY)) {
    problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both for mTLS, or neither');
  }
  const serverName = env.TEMPORAL_TLS_SERVER_NAME?.trim();
  const anyTlsSetting = Boolean(crt || key || ca || serverName || env.TEMPORAL_API_KEY);
  const explicitlyOff = wanted === false;
  if (explicitlyOff && env.TEMPORAL_API_KEY) {
    problems.push(
      'TEMPORAL_TLS is false, yet TEMPORAL_API_KEY is set: the key would travel in clear text; use TLS, or no API key',
    );
  }
  if (explicitlyOff && (crt || key || ca || serverName)) {
    problems.push(
      'TEMPORAL_TLS is false, yet TEMPORAL_TLS_CERT, _KEY, _CA or _SERVER_NAME is set: remove one or the other',
    );
  }
  if (explicitlyOff || (!anyTlsSetting && wanted === undefined)) return undefined;
  return {
    ...(serverName ? { serverName } : {}),
    ...(ca ? { ca } : {}),
    ...(crt && key ? { clientCert: { crt, key } } : {}),
  };
}

const NAMED_SUBNETS = ['loopback', 'linklocal', 'uniquelocal'];

function trustProxy(value: string | undefined, problems: string[]): false | number | string[] {
  if (value === undefined || ['none', 'false', '0'].includes(value.toLowerCase())) return false;
  if (/^\d+$/.test(value)) return Number(value);
  if (value.toLowerCase() === 'true') {
    problems.push(
      'TRUST_PROXY=true would believe any X-Forwarded-For (anyone could pick their own address): give the number of proxies in front of the API, or their addresses',
    );
    return false;
  }
  const entries = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address, bits, ...rest] = entry.split('/');
    const family = net.isIP(address ?? '');
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!(NAMED_SUBNETS.includes(entry) || (family !== 0 && validBits && rest.length === 0))) {
      problems.push(
        `TRUST_PROXY: "${entry}" is neither a hop count, an address, a subnet (10.0.0.0/8) nor one of ${NAMED_SUBNETS.join(', ')}`,
      );
    }
  }
  return entries;
}

export function loadConfig(rawEnv: Env = process.env, options: LoadConfigOptions = {}): Config {
  // An empty variable (`PORT=` in an env file) means "not set": without this, `PORT=` became port 0.
  const env: Env = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.');
      const value = env[name];
      problems.push(
        `${name}: ${issue.message}${value === undefined ? '' : ` (got "${isSensitive(name) ? '<hidden>' : value}")`}`,
      );
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  const isProduction = (env.NODE_ENV ?? '') === 'production';

  for (const name of options.require ?? []) {
    if (!env[name]?.trim()) {
      problems.push(`${name} is not set: this process needs it (use \`npm start\` for the embedded default)`);
    }
  }
  if (isProduction) {
    for (const name of ['DISCORD_CLIENT_ID', 'DISCORD_CLIENT_SECRET', 'DISCORD_BOT_TOKEN'] as const) {
      if (!env[name]?.trim())
        problems.push(`${name} is required in production: copy it from the Discord developer portal`);
    }
    if (!env.STATE_SIGNING_SECRET?.trim()) {
      problems.push(
        'STATE_SIGNING_SECRET is required in production: set at least 32 random bytes, for example `openssl rand -base64 48`',
      );
    }
  }
  if (isProduction && !env.TOKEN_ENCRYPTION_KEY?.trim()) {
    problems.push(
      'TOKEN_ENCRYPTION_KEY is required in production: set 32 random bytes in base64, for example `openssl rand -base64 32`',
    );
  }
  const tokenKey = env.TOKEN_ENCRYPTION_KEY?.trim();
  const tokenKeyBytes = tokenKey ? Buffer.from(tokenKey, 'base64') : undefined;
  if (tokenKey && (tokenKeyBytes!.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(tokenKey))) {
    problems.push(
      'TOKEN_ENCRYPTION_KEY must be 32 bytes in base64 (44 characters), for example `openssl rand -base64 32`',
    );
  }
  const secret = env.STATE_SIGNING_SECRET?.trim();
  if (secret && Buffer.byteLength(secret, 'utf8') < 32) {
    problems.push(
      `STATE_SIGNING_SECRET is ${Buffer.byteLength(secret, 'utf8')} bytes long; it must be at least 32 bytes`,
    );
  }
  const discordSet = [env.DISCORD_CLIENT_ID, env.DISCORD_CLIENT_SECRET, env.DISCORD_BOT_TOKEN].filter((v) =>
    v?.trim(),
  ).length;
  if (!isProduction && discordSet > 0 && discordSet < 3) {
    problems.push(
      'DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET and DISCORD_BOT_TOKEN go together: set all three, or none for the local sandbox',
    );
  }

  const tls = temporalTls(env, e?.TEMPORAL_TLS, problems);
  const mail = mailConfig(env, e?.PUBLIC_BASE_URL ?? `http://localhost:${e?.PORT ?? 3000}`, problems);
  const trustedProxies = trustProxy(env.TRUST_PROXY?.trim(), problems);

  if (problems.length > 0 || !e) throw new ConfigError(problems);

  const publicBaseUrl = e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`;
  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl,
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      discordTaskQueue: e.TEMPORAL_DISCORD_TASK_QUEUE,
      discordConnectionTaskQueue: e.TEMPORAL_DISCORD_CONNECTION_TASK_QUEUE,
      discordBackgroundTaskQueue: e.TEMPORAL_DISCORD_BACKGROUND_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL,
      tls,
      apiKey: e.TEMPORAL_API_KEY,
    },
    trustProxy: trustedProxies,
    discord: {
      clientId: e.DISCORD_CLIENT_ID,
      clientSecret: e.DISCORD_CLIENT_SECRET,
      botToken: e.DISCORD_BOT_TOKEN,
      apiBaseUrl: e.DISCORD_API_BASE_URL,
      authorizeUrl: e.DISCORD_AUTHORIZE_URL,
      approvedRoleName: e.DISCORD_APPROVED_ROLE_NAME,
      maxRequestsPerSecond: e.DISCORD_MAX_REQUESTS_PER_SECOND,
      reconcileIntervalMinutes: e.DISCORD_RECONCILE_INTERVAL_MINUTES,
    },
    stateSigningSecret: secret ?? randomBytes(48).toString('base64'),
    stateSigningSecretGenerated: !secret,
    tokenEncryptionKey: tokenKeyBytes ?? randomBytes(32),
    tokenEncryptionKeyGenerated: !tokenKeyBytes,
    logLevel: e.LOG_LEVEL,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    metrics: {
      token: e.METRICS_TOKEN,
      workerPort: e.WORKER_METRICS_PORT === 'off' ? null : e.WORKER_METRICS_PORT,
      temporalAddress: e.TEMPORAL_METRICS_ADDRESS,
    },
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    buildCommit: e.BUILD_COMMIT,
    temporalCliPath: e.TEMPORAL_CLI_PATH,
    sandbox: { host: e.SANDBOX_HOST, port: e.SANDBOX_PORT },
    mail,
  };
}

/** A bare address, or `Name <address>`: one @, no spaces or angle brackets inside the address. */
const MAIL_ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;
const isMailbox = (v: string) => {
  const named = /^(.*)<([^<>]+)>$/.exec(v);
  return named ? MAIL_ADDRESS.test(named[2]!.trim()) && !/[\r\n]/.test(named[1]!) : MAIL_ADDRESS.test(v);
};

/**
 * SMTP_URL and MAIL_FROM. A problem with SMTP_URL never shows its value: it may hold a password.
 */
function mailConfig(env: Env, publicBaseUrl: string, problems: string[]): MailConfig {
  const raw = env.SMTP_URL?.trim();
  let smtpUrl: string | undefined;
  if (raw) {
    const url = URL.canParse(raw) ? new URL(raw) : null;
    if (!url || !['smtp:', 'smtps:'].includes(url.protocol) || !url.hostname) {
      problems.push(
        'SMTP_URL: must be an smtp:// or smtps:// URL with a host, such as smtp://user:password@mail.example.org:587 or smtps://user:password@mail.example.org:465 (value hidden: it may hold a password)',
      );
    } else if (url.username && !url.password) {
      problems.push('SMTP_URL: names a user but no password (smtp://user:password@host:587)');
    } else {
      smtpUrl = raw;
    }
  }
  const host = URL.canParse(publicBaseUrl) ? new URL(publicBaseUrl).hostname : 'localhost';
  const from = env.MAIL_FROM?.trim() || `Applications <no-reply@${host}>`;
  if (!isMailbox(from)) {
    problems.push(
      `MAIL_FROM: must be an address such as no-reply@example.org or "Applications <no-reply@example.org>" (got "${from}")`,
    );
  }
  return { smtpUrl, from };
}

/** Prints the problems and exits: the entry points' answer to a ConfigError. */
export function loadConfigOrExit(options?: LoadConfigOptions, env: Env = process.env): Config {
  try {
    return loadConfig(env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** The system's own variables that tools look at (PATH for executables, the cache folder). */
export function systemEnv(): { PATH: string; XDG_CACHE_HOME: string | undefined } {
  return { PATH: process.env.PATH ?? '', XDG_CACHE_HOME: process.env.XDG_CACHE_HOME || undefined };
}

/** The environment of a child process of ours: this one's, with `extra` on top. */
export function childProcessEnv(extra: Env = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
