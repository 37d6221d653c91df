import type { Request, RequestHandler } from 'express';
import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import {
  enableDefaultMetrics,
  httpRequestDuration,
  methodLabel,
  metricsAccess,
  metricsRegistry,
  statusClass,
} from '../../metrics.js';

/** The route label of a request no route answered (static files, 404s). */
const UNMATCHED = 'unmatched';

/**
 * Times every request into `role_grants_http_request_duration_seconds`, labelled with the pattern
 * of the route that answered it (`/api/applications/:id`), never the URL itself. Express sets
 * `req.route` when a route matches, while `req.baseUrl` is still its router's mount path (by the
 * time the answer ends, an error may have reset it): the pattern is taken at that moment.
 */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const stop = httpRequestDuration.startTimer();
    let route: Request['route'];
    let pattern: string | undefined;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (value: Request['route']) => {
        route = value;
        if (value) pattern = `${req.baseUrl}${String((value as { path: unknown }).path)}`;
      },
    });
    res.once('finish', () => {
      stop({ method: methodLabel(req.method), route: pattern ?? UNMATCHED, status_class: statusClass(res.statusCode) });
    });
    next();
  };
}

/**
 * `GET /metrics`: the process's metrics in Prometheus text format, outside /api and before the
 * session and CSRF checks. Who may read them: see `metricsAccess` (src/metrics.ts) and the README.
 */
export function metricsRouter({ config }: AppDeps): Router {
  enableDefaultMetrics();
  const router = Router();
  router.get('/metrics', async (req, res) => {
    const access = metricsAccess(config, req.headers.authorization);
    if (access === 404) {
      res.status(404).json({ error: { code: 'not_found', message: 'Not found.' } });
      return;
    }
    if (access === 401) {
      res
        .status(401)
        .setHeader('WWW-Authenticate', 'Bearer realm="metrics"')
        .json({ error: { code: 'unauthorized', message: 'Send Authorization: Bearer <METRICS_TOKEN>.' } });
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
  return router;
}
