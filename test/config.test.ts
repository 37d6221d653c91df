import path from 'node:path';
import { ConfigError, loadConfig, type Env } from '../src/config.js';

/** The problems `loadConfig(env)` reports; fails the test when it accepts `env`. */
function problemsOf(env: Env, options?: Parameters<typeof loadConfig>[1]): string[] {
  try {
    loadConfig(env, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('loadConfig accepted the configuration');
}

const PRODUCTION_SECRETS = {
  DISCORD_CLIENT_ID: '123456789012345678',
  DISCORD_CLIENT_SECRET: 'client-secret-value-9f8e7d',
  DISCORD_BOT_TOKEN: 'bot-token-value-1a2b3c',
  STATE_SIGNING_SECRET: 'a-state-signing-secret-long-enough-0123456789',
  TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('loadConfig', () => {
  test('an empty environment gets the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      isProduction: false,
      port: 3000,
      publicBaseUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      temporal: { address: undefined, namespace: 'default', uiUrl: undefined },
      discord: {
        clientId: undefined,
        clientSecret: undefined,
        botToken: undefined,
        apiBaseUrl: 'https://discord.com/api',
        authorizeUrl: 'https://discord.com/oauth2/authorize',
        approvedRoleName: 'Approved',
      },
      stateSigningSecretGenerated: true,
      sessionTtlHours: 12,
      logLevel: 'info',
    });
    // A generated secret is long enough and differs per process start.
    expect(Buffer.byteLength(config.stateSigningSecret)).toBeGreaterThanOrEqual(32);
    expect(loadConfig({}).stateSigningSecret).not.toBe(config.stateSigningSecret);
  });

  test('PUBLIC_BASE_URL defaults to http://localhost:${PORT}; a given one loses its trailing slash', () => {
    expect(loadConfig({ PORT: '8080' }).publicBaseUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://grants.example.org/' }).publicBaseUrl).toBe(
      'https://grants.example.org',
    );
  });

  test('an empty variable counts as unset (PORT= does not mean port 0)', () => {
    const config = loadConfig({ PORT: '', NODE_ENV: '', PUBLIC_BASE_URL: ' ', SESSION_TTL_HOURS: '' });
    expect(config.port).toBe(3000);
    expect(config.nodeEnv).toBe('development');
    expect(config.publicBaseUrl).toBe('http://localhost:3000');
    expect(config.sessionTtlHours).toBe(12);
  });

  test('production with every secret set is accepted and uses them', () => {
    const config = loadConfig({ NODE_ENV: 'production', ...PRODUCTION_SECRETS });
    expect(config.isProduction).toBe(true);
    expect(config.stateSigningSecret).toBe(PRODUCTION_SECRETS.STATE_SIGNING_SECRET);
    expect(config.stateSigningSecretGenerated).toBe(false);
    expect(config.discord.botToken).toBe(PRODUCTION_SECRETS.DISCORD_BOT_TOKEN);
  });

  test('every problem is reported at once, one line each, naming the variable', () => {
    const problems = problemsOf(
      { PORT: 'eighty', LOG_LEVEL: 'loud', PUBLIC_BASE_URL: 'not a url' },
      { require: ['DATABASE_URL'] },
    );
    expect(problems).toHaveLength(4);
    expect(problems.find((p) => p.startsWith('PORT:'))).toContain('"eighty"');
    expect(problems.find((p) => p.startsWith('LOG_LEVEL:'))).toContain('"loud"');
    expect(problems.find((p) => p.startsWith('PUBLIC_BASE_URL:'))).toMatch(/absolute http\(s\) URL/);
    expect(problems.find((p) => p.startsWith('DATABASE_URL'))).toMatch(/not set/);
    for (const p of problems) expect(p).not.toContain('\n');
  });

  test('NODE_ENV=production without secrets reports one line per missing secret', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toHaveLength(5);
    for (const name of [
      'DISCORD_CLIENT_ID',
      'DISCORD_CLIENT_SECRET',
      'DISCORD_BOT_TOKEN',
      'STATE_SIGNING_SECRET',
      'TOKEN_ENCRYPTION_KEY',
    ]) {
      expect(problems.filter((p) => p.startsWith(`${name} is required in production`))).toHaveLength(1);
    }
  });

  test('NODE_ENV=production with one secret missing reports only that one', () => {
    const { DISCORD_BOT_TOKEN: _missing, ...rest } = PRODUCTION_SECRETS;
    expect(problemsOf({ NODE_ENV: 'production', ...rest })).toEqual([
      'DISCORD_BOT_TOKEN is required in production: copy it from the Discord developer portal',
    ]);
  });

  test('a TOKEN_ENCRYPTION_KEY that is not 32 bytes of base64 is refused, and never echoed', () => {
    for (const bad of [
      'too-short',
      Buffer.alloc(31, 1).toString('base64'),
      `${Buffer.alloc(32, 1).toString('base64')}!`,
    ]) {
      const problems = problemsOf({ TOKEN_ENCRYPTION_KEY: bad });
      expect(problems).toEqual([
        'TOKEN_ENCRYPTION_KEY must be 32 bytes in base64 (44 characters), for example `openssl rand -base64 32`',
      ]);
    }
    const config = loadConfig({ TOKEN_ENCRYPTION_KEY: PRODUCTION_SECRETS.TOKEN_ENCRYPTION_KEY });
    expect(config.tokenEncryptionKey.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(config.tokenEncryptionKeyGenerated).toBe(false);
    expect(loadConfig({}).tokenEncryptionKeyGenerated).toBe(true);
  });

  test('a STATE_SIGNING_SECRET shorter than 32 bytes is refused, in development too', () => {
    const short = 'only-twenty-bytes-ab';
    for (const NODE_ENV of ['development', 'production']) {
      const problems = problemsOf({ ...PRODUCTION_SECRETS, NODE_ENV, STATE_SIGNING_SECRET: short });
      expect(problems).toEqual(['STATE_SIGNING_SECRET is 20 bytes long; it must be at least 32 bytes']);
    }
  });

  test('URLs must be absolute http(s) URLs', () => {
    expect(problemsOf({ PUBLIC_BASE_URL: 'localhost:3000' })).toEqual([
      'PUBLIC_BASE_URL: must be an absolute http(s) URL such as http://localhost:3000 (got "localhost:3000")',
    ]);
    expect(problemsOf({ DISCORD_API_BASE_URL: '/api', TEMPORAL_UI_URL: 'ftp://ui.example' })).toHaveLength(2);
  });

  test('Discord credentials go together outside production', () => {
    expect(problemsOf({ DISCORD_CLIENT_ID: '123' })).toEqual([
      expect.stringMatching(/^DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET and DISCORD_BOT_TOKEN go together/),
    ]);
  });

  test('secrets are never echoed in the problems', () => {
    const secrets = {
      STATE_SIGNING_SECRET: 'short-secret-xyz',
      DISCORD_CLIENT_SECRET: 'client-secret-abc',
      DISCORD_BOT_TOKEN: 'bot-token-def',
      DATABASE_URL: 'postgres://app:db-password-ghi@db.internal/app',
    };
    const err = (() => {
      try {
        loadConfig({ NODE_ENV: 'production', PORT: 'x', ...secrets });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('loadConfig accepted the configuration');
    })();
    expect(err.problems.length).toBeGreaterThanOrEqual(2);
    const text = `${err.message}\n${err.problems.join('\n')}`;
    for (const value of [...Object.values(secrets), 'db-password-ghi']) expect(text).not.toContain(value);
  });
});

describe('SMTP_URL and MAIL_FROM', () => {
  test('no emails by default; an smtp:// or smtps:// URL turns them on; MAIL_FROM defaults to no-reply at the public host', () => {
    expect(loadConfig({}).mail).toEqual({ smtpUrl: undefined, from: 'Applications <no-reply@localhost>' });
    const config = loadConfig({
      SMTP_URL: 'smtps://mailer:s3cret@mail.example.org:465',
      PUBLIC_BASE_URL: 'https://apply.example.org',
    });
    expect(config.mail).toEqual({
      smtpUrl: 'smtps://mailer:s3cret@mail.example.org:465',
      from: 'Applications <no-reply@apply.example.org>',
    });
    expect(loadConfig({ MAIL_FROM: 'Club <club@example.org>' }).mail.from).toBe('Club <club@example.org>');
  });

  test('a bad SMTP_URL or MAIL_FROM is one clear line each, and the URL (which may hold a password) is never shown', () => {
    for (const bad of [
      'http://mailer:hunter2pw@smtp.club.test',
      'smtp.club.test:587',
      'smtp://mailer@smtp.club.test',
    ]) {
      const problems = problemsOf({ SMTP_URL: bad, MAIL_FROM: 'not an address' });
      expect(problems).toEqual([
        expect.stringMatching(/^SMTP_URL: (must be an smtp:\/\/ or smtps:\/\/ URL|names a user but no password)/),
        expect.stringMatching(/^MAIL_FROM: must be an address/),
      ]);
      expect(problems.join('\n')).not.toContain(bad);
      expect(problems.join('\n')).not.toContain('hunter2pw');
    }
  });
});

describe('TRUST_PROXY', () => {
  test('trusts no proxy by default, and takes a hop count or addresses and subnets', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', ...PRODUCTION_SECRETS }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'none' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8 ,192.0.2.7' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.7',
    ]);
  });

  test('refuses "true" (anyone could choose their address) and what is not an address', () => {
    expect(problemsOf({ TRUST_PROXY: 'true' })).toEqual([expect.stringMatching(/^TRUST_PROXY=true would believe any/)]);
    expect(problemsOf({ TRUST_PROXY: 'loopback,proxy.internal,10.0.0.0/40' })).toEqual([
      expect.stringContaining('"proxy.internal" is neither'),
      expect.stringContaining('"10.0.0.0/40" is neither'),
    ]);
  });
});

describe('Temporal TLS and API key', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  test('plain TCP by default; TLS with the system CAs on request or with an API key', () => {
    expect(loadConfig({}).temporal.tls).toBeUndefined();
    expect(loadConfig({ TEMPORAL_TLS: 'true' }).temporal.tls).toEqual({});
    expect(loadConfig({ TEMPORAL_API_KEY: 'key' }).temporal).toMatchObject({ tls: {}, apiKey: 'key' });
    // An API key never travels in clear text.
    expect(problemsOf({ TEMPORAL_API_KEY: 'key', TEMPORAL_TLS: 'false' })).toEqual([
      expect.stringMatching(/^TEMPORAL_TLS is false, yet TEMPORAL_API_KEY is set: the key would travel in clear text/),
    ]);
  });

  test('certificates as PEM text (with \\n escapes, as env files carry them) or as file paths', () => {
    const inline = loadConfig({
      TEMPORAL_TLS_CERT: PEM.replace(/\n/g, '\\n'),
      TEMPORAL_TLS_KEY: PEM,
      TEMPORAL_TLS_CA: PEM,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    }).temporal.tls!;
    expect(inline.clientCert!.crt.toString()).toBe(PEM);
    expect(inline.ca!.toString()).toBe(PEM);
    expect(inline.serverName).toBe('temporal.internal');
  });

  test('unreadable files, a certificate without its key and TLS both on and off are reported, never the PEM', () => {
    const notPem = path.resolve('package.json');
    const problems = problemsOf({
      TEMPORAL_TLS_CERT: '/nonexistent/client.pem',
      TEMPORAL_TLS_CA: notPem,
    });
    expect(problems).toEqual([
      'TEMPORAL_TLS_CERT: cannot read /nonexistent/client.pem (ENOENT)',
      `TEMPORAL_TLS_CA: ${notPem} is not a PEM file (no -----BEGIN line)`,
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both for mTLS, or neither',
    ]);
    expect(problemsOf({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: PEM })).toEqual([
      expect.stringMatching(/^TEMPORAL_TLS is false, yet/),
    ]);
    const hidden = problemsOf({ TEMPORAL_TLS: 'maybe', TEMPORAL_API_KEY: 'key-123', TEMPORAL_TLS_KEY: PEM });
    expect(hidden.join('\n')).not.toContain('MIIB');
    // A key pasted with a leading space, or as `openssl pkcs12` prints it, is taken as text, not a path.
    const bagged = `Bag Attributes\n    localKeyID: 01\n${PEM}`;
    expect(
      loadConfig({ TEMPORAL_TLS_CERT: ` ${PEM}`, TEMPORAL_TLS_KEY: bagged }).temporal.tls!.clientCert!.key.toString(),
    ).toBe(bagged);
    // A base64 blob is neither a PEM nor a file: the problem does not repeat it.
    const blob = Buffer.from(PEM).toString('base64');
    const blobProblems = problemsOf({ TEMPORAL_TLS_CERT: '/nonexistent/c.pem', TEMPORAL_TLS_KEY: blob });
    expect(blobProblems).toContain('TEMPORAL_TLS_KEY: cannot read the file it names (ENOENT)');
    expect(blobProblems.join('\n')).not.toContain(blob);
  });
});

describe('HOST', () => {
  test('every interface by default; an IP address or localhost when set', () => {
    expect(loadConfig({}).host).toBeUndefined();
    expect(loadConfig({ HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '::' }).host).toBe('::');
    expect(problemsOf({ HOST: 'api.example.com' })).toEqual([
      'HOST: must be an IP address such as 127.0.0.1, or localhost (got "api.example.com")',
    ]);
  });
});
