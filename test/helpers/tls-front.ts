/**
 * A TLS (optionally mTLS, optionally API-key-checking) gRPC front for the plain Temporal dev server,
 * which has no TLS flags of its own: it terminates TLS like a load balancer or Temporal Cloud's edge
 * and forwards every HTTP/2 stream, headers, body and trailers, to the dev server.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';

export interface TlsFront {
  address: string;
  /** Subject CN of each client certificate presented (mTLS), in connection order. */
  clientNames: string[];
  /** gRPC calls forwarded to the server. */
  forwarded: number;
  stop(): Promise<void>;
}

export interface TlsFrontOptions {
  target: string;
  key: Buffer;
  cert: Buffer;
  /** CA for client certificates: set, and the front requires one (mTLS). */
  clientCa?: Buffer;
  /** Set, and calls without `authorization: Bearer <apiKey>` are refused with UNAUTHENTICATED. */
  apiKey?: string;
}

export async function startTlsFront(opts: TlsFrontOptions): Promise<TlsFront> {
  const upstream = http2.connect(`http://${opts.target}`);
  upstream.on('error', () => undefined);
  const server = http2.createSecureServer({
    key: opts.key,
    cert: opts.cert,
    ...(opts.clientCa ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  });
  const front: TlsFront = { address: '', clientNames: [], forwarded: 0, stop: async () => undefined };
  server.on('secureConnection', (socket: TLSSocket) => {
    const cn = opts.clientCa ? socket.getPeerCertificate().subject?.CN : undefined;
    if (cn) front.clientNames.push(String(cn));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (opts.apiKey && headers.authorization !== `Bearer ${opts.apiKey}`) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' },
        { endStream: true },
      );
      return;
    }
    front.forwarded++;
    const fwd: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers))
      if (k !== ':authority' && k !== ':scheme' && k !== 'authorization') fwd[k] = v;
    const out = upstream.request(fwd);
    out.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('close', () => out.close());
    let trailers: http2.OutgoingHttpHeaders = {};
    out.on('response', (h) => {
      const resp: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') || k === ':status') resp[k] = v;
      // A "trailers-only" answer (an error before any message) must end on its header frame.
      if (resp['grpc-status'] !== undefined) {
        stream.respond(resp, { endStream: true });
        return;
      }
      stream.respond(resp, { waitForTrailers: true });
      out.pipe(stream);
    });
    out.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = {};
      for (const [k, v] of Object.entries(t)) if (!k.startsWith(':')) trailers[k] = v;
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.stop = async () => {
    upstream.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  // Open sessions would keep close() waiting: end them.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const stop = front.stop;
  front.stop = async () => {
    for (const s of sessions) s.destroy();
    await stop();
  };
  return front;
}

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCaCert: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting it must fail the handshake. */
  otherCaCert: string;
}

/** Certificates made by openssl for this test run: a server CA, a client CA, and one leaf of each. */
export function makeTestPki(dir: string): TestPki {
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string, cn: string) =>
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.pem`),
    );
  const leaf = (name: string, caName: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${caName}.pem`),
      '-CAkey',
      f(`${caName}.key`),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    );
  };
  ca('ca', 'renga test server CA');
  ca('client-ca', 'renga test client CA');
  ca('other-ca', 'renga test unrelated CA');
  leaf('server', 'ca', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'client-ca', 'renga-worker', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCaCert: f('client-ca.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    otherCaCert: f('other-ca.pem'),
  };
}
