import { Router } from 'express';
import { pingDatabase } from '../../db/pool.js';
import { botTokenStatus } from '../../discord/guard.js';
import type { AppDeps } from '../deps.js';

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter({ pool, temporal }: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await Promise.allSettled([
      withTimeout(pingDatabase(pool), 2_000, 'Postgres'),
      withTimeout(temporal.workflowService.getSystemInfo({}), 2_000, 'Temporal'),
    ]);
    const [pg, tp] = checks;
    const problems: Record<string, string> = {};
    if (pg?.status === 'rejected') problems.postgres = `Postgres is unreachable: ${(pg.reason as Error).message}`;
    if (tp?.status === 'rejected') problems.temporal = `Temporal is unreachable: ${(tp.reason as Error).message}`;
    if (Object.keys(problems).length > 0) {
      res.status(503).json({ status: 'unavailable', problems });
      return;
    }
    // Serving reviews still works; grants do not: say so, without taking the API out of rotation.
    const { rejectedAt } = await withTimeout(botTokenStatus(pool), 2_000, 'Postgres').catch(() => ({
      rejectedAt: null,
    }));
    if (rejectedAt) {
      res.json({
        status: 'degraded',
        problems: { discord: `Discord refused the bot token at ${rejectedAt.toISOString()}: every grant is paused.` },
      });
      return;
    }
    res.json({ status: 'ready' });
  });
  return router;
}
