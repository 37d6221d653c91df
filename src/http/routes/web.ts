import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import type { AppDeps } from '../deps.js';

/** Where `npm run build` puts the admin web UI (vite.config.ts). */
export const WEB_DIST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/web');

/** Paths that are never the single-page app. */
const NOT_THE_APP = /^\/(api|healthz|readyz)(\/|$)/;

/**
 * The admin web UI: the built static files of `dist/web` at `/`, and `index.html` for every other
 * GET outside `/api` (`/login`, `/settings`, `/applications`, `/ops`, `/apply/:slug`, ...), where the
 * app's own router takes over. Also `GET /api/config`, the little the UI must know before sign-in.
 */
export function webRouter({ config }: AppDeps, options: { distDir?: string } = {}): Router {
  const distDir = options.distDir ?? WEB_DIST_DIR;
  const indexHtml = path.join(distDir, 'index.html');
  const router = Router();

  router.get('/api/config', (_req, res) => {
    res.json({ temporalUiUrl: config.temporal.uiUrl ?? null });
  });

  // Hashed file names under /assets never change: cache them for long; index.html never.
  router.use(
    express.static(distDir, {
      index: false,
      fallthrough: true,
      setHeaders: (res, file) => {
        res.setHeader(
          'Cache-Control',
          file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    }),
  );

  router.get(/.*/, (req, res, next) => {
    if (NOT_THE_APP.test(req.path)) return next();
    // A missing asset is a 404, not the app.
    if (path.extname(req.path) !== '') return next();
    if (!req.accepts('html')) return next();
    if (!fs.existsSync(indexHtml)) {
      res
        .status(503)
        .type('text/plain')
        .send('The web UI is not built yet. Run `npm run build` (npm start builds it by itself).');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexHtml);
  });

  return router;
}
