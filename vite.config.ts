import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * The admin web UI: a React single-page app under src/web, built into static files in dist/web
 * that the API serves at `/`. JSX through Vite's built-in Oxc transform (automatic runtime), so no
 * React plugin is needed. Everything is bundled: no external fonts, CDNs or inline scripts.
 */
export default defineConfig({
  root: path.join(root, 'src/web'),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: path.join(root, 'dist/web'),
    emptyOutDir: true,
    sourcemap: true,
    // Helmet's CSP allows scripts from 'self' only: never inline anything.
    assetsInlineLimit: 0,
    // One bundle on purpose: about 500 kB minified (150 kB gzipped) with React, react-router,
    // react-hook-form and zod (the form rules shared with the API); a build under NODE_ENV=test
    // (the browser tests) carries React's development build and is about 750 kB.
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      onwarn(warning, warn) {
        // react-router marks its modules "use client" (for React Server Components): meaningless in this bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    // `vite` alone (development): the API runs on PORT (3000 by default).
    proxy: { '/api': `http://localhost:${process.env.PORT ?? 3000}` },
  },
});
