/** HTTP plumbing of the simulator: bounded body reads, abortable waits, JSON replies, the presented API key. */
import type * as http from 'node:http';

/** The real API's request size limit for the Messages endpoint. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export type BodyRead = { kind: 'ok'; buf: Buffer } | { kind: 'tooLarge' } | { kind: 'aborted' };

export async function readBody(req: http.IncomingMessage, limit: number): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = Number(req.headers['content-length'] ?? 0) > limit;
  try {
    // Keep draining past the limit: answering before the upload ends makes clients see a reset, not a 413.
    for await (const c of req as AsyncIterable<Buffer | string>) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      size += b.length;
      if (over) continue;
      if (size > limit) {
        over = true;
        chunks.length = 0;
      } else {
        chunks.push(b);
      }
    }
  } catch {
    return { kind: 'aborted' };
  }
  if (req.destroyed && !req.complete) return { kind: 'aborted' };
  return over ? { kind: 'tooLarge' } : { kind: 'ok', buf: Buffer.concat(chunks) };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (client gone or simulator closing). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** SDK 1.14 sends an API key as `Authorization: Bearer`; older clients and curl use `x-api-key`. */
export function presentedKey(req: http.IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  const match = auth === undefined ? null : /^Bearer\s+(.+)$/i.exec(auth);
  return match ? match[1] : undefined;
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}
