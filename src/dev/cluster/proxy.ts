/**
 * The reverse proxy of `npm run cluster` in front of the API replicas: round-robin, one request
 * after another, and the headers a real one (nginx) would set: the client's address appended to
 * `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`), `X-Forwarded-Proto` and
 * `X-Forwarded-Host`, and the client's `Host` passed on. Dev tooling, not a production proxy: no
 * WebSocket upgrades, no retries but on a kept-alive connection the upstream had just closed (an
 * upstream that is down answers 502).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReverseProxy {
  url: string;
  port: number;
  /** Requests sent to each upstream, in the order of `upstreams`. */
  readonly counts: number[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export async function startReverseProxy(options: {
  /** Base URLs of the upstreams (`http://127.0.0.1:port`). */
  upstreams: string[];
  host?: string;
  port?: number;
  /**
   * The address it connects to the upstreams from (another loopback address, such as 127.0.0.2 on
   * Linux), so that they can trust it alone: TRUST_PROXY=<that address>.
   */
  localAddress?: string;
  /** What went wrong with a request it answered 502 (or cut). */
  onError?: (message: string) => void;
}): Promise<ReverseProxy> {
  const upstreams = options.upstreams.map((u) => new URL(u));
  const counts = upstreams.map(() => 0);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  let next = 0;

  const server = http.createServer((req, res) => {
    const index = next;
    next = (next + 1) % upstreams.length;
    counts[index]! += 1;
    const target = upstreams[index]!;

    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    // Headers named in Connection are hop-by-hop too.
    for (const name of (req.headers.connection ?? '').split(',')) delete headers[name.trim().toLowerCase()];
    const client = req.socket.remoteAddress ?? 'unknown';
    const forwarded = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwarded
      ? `${Array.isArray(forwarded) ? forwarded.join(', ') : forwarded}, ${client}`
      : client;
    // This proxy speaks plain HTTP: whatever a client claims, the scheme it used is http.
    headers['x-forwarded-proto'] = 'http';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;

    // The body is read whole first (an API request is small), so that a request sent on a kept-alive
    // connection the API had just closed (its keepAliveTimeout) can be sent again on a new one.
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => send(false));
    const send = (retry: boolean) => {
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        },
        (answer) => {
          const out: http.OutgoingHttpHeaders = {};
          for (const [name, value] of Object.entries(answer.headers)) {
            if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
          }
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
          answer.pipe(res);
        },
      );
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (!retry && upstream.reusedSocket && err.code === 'ECONNRESET' && !res.headersSent) return send(true);
        options.onError?.(`${req.method} ${req.url} to ${target.host}: ${err.message}`);
        if (res.headersSent) {
          res.destroy(err);
          return;
        }
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { code: 'bad_gateway', message: `cluster proxy: ${target.host} did not answer (${err.message})` },
          }),
        );
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.end(Buffer.concat(body));
    };
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counts,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
