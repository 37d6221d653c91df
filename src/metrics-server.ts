import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { enableDefaultMetrics, metricsAccess, metricsRegistry, metricsServed } from './metrics.js';
import { describePortProblem } from './ports.js';
import { StartError } from './start-error.js';

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one the system picked for 0). */
  port: number;
  close: () => Promise<void>;
}

/**
 * The worker process's `/metrics` (`npm run start:worker`), on WORKER_METRICS_PORT, with the same
 * access rule as the API's (src/metrics.ts). Null when it serves nothing: WORKER_METRICS_PORT=off,
 * or production without METRICS_TOKEN. Any other path answers 404.
 */
export async function startWorkerMetricsServer(
  config: Pick<Config, 'isProduction' | 'metrics' | 'host'>,
): Promise<MetricsServer | null> {
  const port = config.metrics.workerPort;
  if (port === null || !metricsServed(config)) return null;
  enableDefaultMetrics();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found.\n');
      return;
    }
    const access = metricsAccess(config, req.headers.authorization);
    if (access !== 200) {
      res
        .writeHead(access, {
          'content-type': 'text/plain',
          ...(access === 401 ? { 'www-authenticate': 'Bearer realm="metrics"' } : {}),
        })
        .end(access === 401 ? 'Send Authorization: Bearer <METRICS_TOKEN>.\n' : 'Not found.\n');
      return;
    }
    metricsRegistry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metricsRegistry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('The metrics could not be collected.\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new StartError(
          describePortProblem(port, "the worker's metrics server", err.code ?? err.message),
          'Stop whatever listens there, or set WORKER_METRICS_PORT to a free port (or to off).',
          { cause: err },
        ),
      ),
    );
    server.listen({ port, host: config.host }, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
