import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TestCertificates {
  dir: string;
  /** PEM file paths. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate of another CA: must be refused. */
  strangerCert: string;
  strangerKey: string;
}

/**
 * A CA, a server certificate for `serverName` and client certificates, made with the openssl
 * command (Debian's): what an mTLS Temporal cluster's operator hands out.
 */
export async function makeCertificates(dir: string, serverName: string): Promise<TestCertificates> {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileAsync('openssl', args, { cwd: dir });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = async (name: string) =>
    openssl(
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    );
  const leaf = async (name: string, signer: string, extensions: string[]) => {
    await openssl(
      'req',
      ...ecKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
      ...extensions,
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${signer}.pem`,
      '-CAkey',
      `${signer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-copy_extensions',
      'copy',
    );
  };
  await ca('test-ca');
  await ca('stranger-ca');
  await leaf('server', 'test-ca', [
    '-addext',
    `subjectAltName=DNS:${serverName}`,
    '-addext',
    'extendedKeyUsage=serverAuth',
  ]);
  await leaf('client', 'test-ca', ['-addext', 'extendedKeyUsage=clientAuth']);
  await leaf('stranger', 'stranger-ca', ['-addext', 'extendedKeyUsage=clientAuth']);
  return {
    dir,
    ca: file('test-ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    strangerCert: file('stranger.pem'),
    strangerKey: file('stranger.key'),
  };
}

export interface GrpcTlsProxy {
  address: string;
  /** gRPC calls that reached the server: method path and the client certificate's CN. */
  forwarded: Array<{ path: string; clientCn: string }>;
  /** Calls refused for a missing or wrong API key. */
  refusedApiKeys: number;
  close: () => Promise<void>;
}

/**
 * What a Temporal cluster with mTLS and API keys looks like from outside: HTTP/2 over TLS that
 * requires a client certificate of `certs.ca` and `Authorization: Bearer <apiKey>` on every call,
 * forwarding the gRPC calls (headers, messages, trailers) to a plaintext server (the dev server,
 * which has no TLS of its own).
 */
export async function startGrpcTlsProxy(options: {
  certs: TestCertificates;
  upstream: string;
  apiKey: string;
  /** Methods answered PERMISSION_DENIED, as for an account without the right (`AddSearchAttributes`). */
  deniedMethods?: string[];
}): Promise<GrpcTlsProxy> {
  const { certs, apiKey } = options;
  const upstream = http2.connect(`http://${options.upstream}`);
  upstream.on('error', () => undefined);
  const forwarded: GrpcTlsProxy['forwarded'] = [];
  let refusedApiKeys = 0;
  const server = http2.createSecureServer({
    key: await fs.readFile(certs.serverKey),
    cert: await fs.readFile(certs.serverCert),
    ca: await fs.readFile(certs.ca),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    if (headers.authorization !== `Bearer ${apiKey}`) {
      refusedApiKeys += 1;
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'bad API key' },
        { endStream: true },
      );
      return;
    }
    if (options.deniedMethods?.some((m) => String(headers[':path']).endsWith(`/${m}`))) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'not allowed' },
        { endStream: true },
      );
      return;
    }
    const peer = (stream.session?.socket as TLSSocket | undefined)?.getPeerCertificate();
    forwarded.push({ path: String(headers[':path']), clientCn: String(peer?.subject?.CN ?? '') });
    const outgoing: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name !== ':authority' && name !== ':scheme' && name !== 'authorization') outgoing[name] = value;
    }
    const call = upstream.request(outgoing);
    let trailers: http2.IncomingHttpHeaders = {};
    call.on('response', (responseHeaders) => {
      const { ':status': status, ...rest } = responseHeaders;
      if ('grpc-status' in rest) {
        stream.respond({ ':status': status, ...rest }, { endStream: true }); // trailers-only answer
        return;
      }
      stream.respond({ ':status': status, ...rest }, { waitForTrailers: true });
      call.pipe(stream);
    });
    call.on('trailers', (t) => (trailers = t));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers as http2.OutgoingHttpHeaders));
    stream.pipe(call);
    stream.on('close', () => call.close());
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('error', () => call.close());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    forwarded,
    get refusedApiKeys() {
      return refusedApiKeys;
    },
    close: async () => {
      upstream.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      });
    },
  };
}
