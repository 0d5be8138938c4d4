/**
 * `renga codec-server`: Temporal's remote codec protocol (POST /encode, /decode, also under a
 * namespace path segment), so the Web UI and `temporal --codec-endpoint` can show encrypted
 * payloads in clear to people who hold the token, while the server itself only stores ciphertext.
 *
 * Auth: `Authorization: Bearer <RENGA_CODEC_TOKEN>`. A browser UI without a login of its own cannot
 * add that header, so the token is also accepted as a path prefix (`/auth/<token>/decode`), which is
 * what docker-compose.yml points the UI at. Browsers are further limited by CORS to one origin.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createCodecs } from '../shared/codec';
import type { CodecServerConfig } from '../shared/config';

const MAX_BODY_BYTES = 64 * 1024 * 1024;

const WirePayloads = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.string()).nullish(),
      data: z.string().nullish(),
    }),
  ),
});
type WirePayload = z.infer<typeof WirePayloads>['payloads'][number];

export interface CodecServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function fromWire(p: WirePayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = new Uint8Array(Buffer.from(v, 'base64'));
  return { metadata, data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')) };
}

function toWire(p: Payload): WirePayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Splits `/[auth/<token>/][<namespace>/](encode|decode)`. */
function route(pathname: string): { op: 'encode' | 'decode' | null; pathToken: string | null } {
  const parts = pathname.split('/').filter((p) => p !== '');
  let pathToken: string | null = null;
  if (parts[0] === 'auth' && parts.length >= 2) {
    pathToken = decodeURIComponent(parts[1]!);
    parts.splice(0, 2);
  }
  const last = parts[parts.length - 1];
  const op = (last === 'encode' || last === 'decode') && parts.length <= 2 ? last : null;
  return { op, pathToken };
}

export async function startCodecServer(
  config: CodecServerConfig,
  log: (line: string) => void = () => undefined,
): Promise<CodecServer> {
  const codecs = createCodecs(config);
  const chain: PayloadCodec[] = codecs.chain;
  const tokenDigest = digest(config.RENGA_CODEC_TOKEN);
  const allowedOrigin = new URL(config.RENGA_CODEC_CORS_ORIGIN).origin;

  const run = async (op: 'encode' | 'decode', payloads: Payload[]): Promise<Payload[]> => {
    let out = payloads;
    if (op === 'encode') for (const c of chain) out = await c.encode(out);
    else for (const c of [...chain].reverse()) out = await c.decode(out);
    return out;
  };

  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // A browser on any other origin gets no CORS grant, and is refused outright.
    if (origin !== undefined) {
      if (origin !== allowedOrigin) return send(403, { error: `origin ${origin} is not allowed` });
      res.setHeader('access-control-allow-origin', allowedOrigin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'content-type, x-namespace, authorization',
        'access-control-max-age': '600',
      });
      return res.end();
    }
    const url = new URL(req.url ?? '/', 'http://codec');
    if (url.pathname === '/healthz') return send(200, { ok: true });
    const { op, pathToken } = route(url.pathname);
    if (!op) return send(404, { error: 'not found: POST /encode or /decode' });
    if (req.method !== 'POST') return send(405, { error: 'use POST' });

    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : pathToken;
    if (presented === null || !timingSafeEqual(digest(presented), tokenDigest)) {
      return send(401, { error: 'missing or wrong bearer token' });
    }

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        send(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let parsed: z.infer<typeof WirePayloads>;
      try {
        parsed = WirePayloads.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        return send(400, {
          error: `body must be {"payloads":[{"metadata":{…},"data":"…"}]}: ${(err as Error).message}`,
        });
      }
      run(op, parsed.payloads.map(fromWire)).then(
        (out) => send(200, { payloads: out.map(toWire) }),
        (err: Error) => {
          // Names the problem (wrong key, missing blob) without echoing any payload content.
          log(`${op} failed: ${err.name}: ${err.message}`);
          send(422, { error: `${err.name}: ${err.message}` });
        },
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.RENGA_CODEC_PORT, config.RENGA_CODEC_HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.RENGA_CODEC_HOST.includes(':') ? `[${config.RENGA_CODEC_HOST}]` : config.RENGA_CODEC_HOST;
  log(
    `codec server on http://${host}:${port} (CORS origin ${allowedOrigin}; ` +
      `encryption ${codecs.encryption.activeKeyId ? `key ${codecs.encryption.activeKeyId}` : 'OFF: no keys configured'})`,
  );
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
