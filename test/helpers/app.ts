import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Server } from 'node:http';
import type { Client as TemporalClient } from '@temporalio/client';
import { loadConfig, type Config, type Env } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { connectTemporal } from '../../src/temporal/client.js';
import type { Pool } from '../../src/db/pool.js';
import type { RoleWorkflowOptions } from '../../src/temporal/shared.js';
import { recordResponseViolations } from './openapi-validator.js';

export interface TestApp {
  baseUrl: string;
  config: Config;
  temporal: TemporalClient;
  close: () => Promise<void>;
}

export const TEST_STATE_SECRET = 'test-state-signing-secret-of-at-least-32-bytes';

/** The real Express app on an ephemeral loopback port, on the test's own database and the run's Temporal server. */
export async function startTestApp(
  pool: Pool,
  env: Env = {},
  extra: { roleWorkflowOptions?: RoleWorkflowOptions; logLines?: string[] } = {},
): Promise<TestApp> {
  const temporal = await connectTemporal({ address: process.env.TEST_TEMPORAL_ADDRESS!, namespace: 'default' });
  let config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', STATE_SIGNING_SECRET: TEST_STATE_SECRET, ...env });
  const { logLines, ...rest } = extra;
  const logger = logLines
    ? createLogger({ level: 'debug', destination: { write: (line) => void logLines.push(line) } })
    : createLogger({ level: 'silent' });
  // Every answer is checked against the OpenAPI description; a test that saw one that breaks it
  // fails when it closes the app.
  const violations: string[] = [];
  const app = express().disable('x-powered-by');
  app.use(recordResponseViolations(violations));
  app.use(createApp({ config, pool, temporal, logger, ...rest }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  // The CSRF check compares Origin with PUBLIC_BASE_URL, which is known once the port is.
  if (!env.PUBLIC_BASE_URL) config = Object.assign(config, { publicBaseUrl: baseUrl });
  return {
    baseUrl,
    config,
    temporal,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await temporal.connection.close();
      if (violations.length > 0) {
        throw new Error(`Answers that break the OpenAPI description:\n${[...new Set(violations)].join('\n')}`);
      }
    },
  };
}
