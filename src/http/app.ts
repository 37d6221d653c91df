import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { HttpError, oauthCallbackFailures, temporalUnavailable } from './errors.js';
import type { AppDeps } from './deps.js';
import { docsRouter } from './routes/docs.js';
import { healthRouter } from './routes/health.js';
import { httpMetrics, metricsRouter } from './routes/metrics.js';
import { authRouter, meRouter } from './routes/auth.js';
import { sessionMiddleware } from './middleware/session.js';
import { csrfMiddleware } from './middleware/csrf.js';
import { discordRouter, settingsUrlOf } from './routes/discord.js';
import { applicationsRouter } from './routes/applications.js';
import { formsRouter } from './routes/forms.js';
import { applicantsRouter, applyUrlOf } from './routes/applicants.js';
import { organizationRouter } from './routes/organization.js';
import { reconciliationRouter } from './routes/reconciliation.js';
import { auditRouter } from './routes/audit.js';
import { webRouter } from './routes/web.js';

/** The Express app: one router per resource, one error handler, no stack traces in answers. */
// As Express routes it: any case, with or without a trailing slash.
const BULK_REVIEW_PATH = /^\/api\/applications\/bulk-review\/?$/i;
/** The methods whose requests carry a body here: a GET's or a DELETE's is never read. */
const BODY_METHODS = new Set(['POST', 'PATCH', 'PUT']);

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers are per user and change all the time: no ETag, no 304, and no cache keeps them
  // (a route may say otherwise; the web UI's static files have their own caching).
  app.set('etag', false);
  // TRUST_PROXY: by default nobody is believed, so X-Forwarded-For cannot pick a client's address.
  app.set('trust proxy', deps.config.trustProxy);
  app.use(httpMetrics());
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Query strings carry OAuth codes and states: log the path only.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split('?')[0],
        }),
        // The status is what matters; headers (Set-Cookie among them) stay out of the logs.
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
    }),
  );
  app.use(
    helmet({
      // Outside production the UI is often opened over plain http from another device: asking the
      // browser to upgrade every asset to https would break it there.
      contentSecurityPolicy: {
        directives: {
          upgradeInsecureRequests: deps.config.isProduction ? [] : null,
          // Applicants' Discord avatars come from Discord's CDN; nothing else does.
          imgSrc: ["'self'", 'data:', 'https://cdn.discordapp.com'],
        },
      },
    }),
  );
  // The API's description and its reference page need no session, and their files may be cached:
  // before the session lookup and the no-store default below.
  app.use(docsRouter());
  app.use('/api', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Bodies stay small, except a bulk review's (its route reads it, after the session check).
  const json = express.json({ limit: '100kb' });
  app.use((req, res, next) =>
    !BODY_METHODS.has(req.method) || BULK_REVIEW_PATH.test(req.path) ? next() : json(req, res, next),
  );
  app.use(healthRouter(deps));
  // Prometheus's scrapes carry no session: before the session and CSRF checks (token rule inside).
  app.use(metricsRouter(deps));
  app.use(sessionMiddleware(deps));
  app.use(csrfMiddleware(deps));
  app.use('/api/auth', authRouter(deps));
  app.use('/api', meRouter(deps));
  app.use('/api/discord', discordRouter(deps));
  app.use('/api', applicantsRouter(deps));
  // Before the applications' routes: GET /api/applications/export.csv is not /applications/:id.
  app.use('/api', formsRouter(deps));
  app.use('/api', applicationsRouter(deps));
  app.use('/api', organizationRouter(deps));
  app.use('/api', reconciliationRouter(deps));
  app.use('/api', auditRouter(deps));
  app.use(webRouter(deps));

  app.use('/api', (_req, _res, next) => next(new HttpError('not_found', 'No such API route.')));
  // The OAuth callbacks answer every failure with a redirect (see oauthCallbackFailures).
  app.use(
    '/api/discord/bot-callback',
    oauthCallbackFailures((error) => settingsUrlOf(deps.config, { error })),
  );
  app.use(
    '/api/public/discord/callback',
    oauthCallbackFailures((error, res) =>
      applyUrlOf(deps.config, res.locals.applySlug as string | undefined, { error }),
    ),
  );
  app.use(errorHandler(deps));
  return app;
}

function errorHandler(deps: AppDeps): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof HttpError) {
      // Unavailable for a moment (the database did not answer a review): when to try again.
      if (err.status === 503) res.setHeader('Retry-After', '5');
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
      return;
    }
    const e = err as { type?: string; status?: number; statusCode?: number };
    // body-parser's own errors: malformed JSON, too large.
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'invalid_json', message: 'The request body is not valid JSON.' } });
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'payload_too_large', message: 'The request body is too large.' } });
      return;
    }
    // Other client errors raised before a route runs (a malformed percent-encoding in the path, ...).
    const status = e.status ?? e.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(400).json({ error: { code: 'bad_request', message: 'The request could not be read.' } });
      return;
    }
    const unavailable = temporalUnavailable(err);
    if (unavailable) {
      req.log?.warn({ err }, 'Temporal unavailable');
      res.setHeader('Retry-After', '5');
      res.status(unavailable.status).json({ error: { code: unavailable.code, message: unavailable.message } });
      return;
    }
    req.log?.error({ err }, 'unhandled error');
    if (!req.log) deps.logger.error({ err }, 'unhandled error');
    res
      .status(500)
      .json({ error: { code: 'internal_error', message: 'Something went wrong on our side. Please try again.' } });
  };
}
