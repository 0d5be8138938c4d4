/**
 * Connecting to a Temporal frontend that may not be serving yet: one attempt after another, with
 * capped exponential backoff, until a deadline the caller names. A dev server that has just passed
 * its readiness check can still take longer than one attempt's timeout to answer on a busy machine;
 * that is a reason to wait, not to fail.
 */
import { Connection } from '@temporalio/client';
import * as net from 'node:net';

export interface RetryOptions {
  /** Give up this long after the first attempt started. */
  deadlineMs: number;
  /** Ceiling of one attempt; the last attempt gets whatever time is left. */
  attemptMs?: number;
  /** Told about each failed attempt before the wait (progress lines, tests). */
  onRetry?: (info: { attempt: number; error: Error; delayMs: number }) => void;
  /** Errors no later attempt can cure (e.g. a refused API key): thrown at once. */
  isFinal?: (err: unknown) => boolean;
}

/** Temporal did not serve at `address` before the deadline; `cause` is the last attempt's error. */
export class TemporalNotServingError extends Error {
  override readonly name = 'TemporalNotServingError';
  constructor(
    readonly address: string,
    readonly waitedMs: number,
    options: { cause: unknown },
  ) {
    const last = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      `cannot reach Temporal at ${address} (TEMPORAL_ADDRESS) after ${Math.round(waitedMs / 1000)} s of retrying: ${last}`,
      options,
    );
  }
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;
const DEFAULT_ATTEMPT_MS = 10_000;

/** Calls `attempt(timeoutMs)` until it resolves or the deadline passes. */
export async function retryUntilServing<T>(
  address: string,
  attempt: (timeoutMs: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const started = Date.now();
  const deadline = started + opts.deadlineMs;
  let delay = FIRST_DELAY_MS;
  for (let n = 1; ; n++) {
    const timeoutMs = Math.max(1, Math.min(opts.attemptMs ?? DEFAULT_ATTEMPT_MS, deadline - Date.now()));
    try {
      return await attempt(timeoutMs);
    } catch (err) {
      if (opts.isFinal?.(err)) throw err;
      const error = err instanceof Error ? err : new Error(String(err));
      const left = deadline - Date.now();
      if (left <= 0) throw new TemporalNotServingError(address, Date.now() - started, { cause: error });
      const delayMs = Math.min(delay, left);
      opts.onRetry?.({ attempt: n, error, delayMs });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}

/** A client connection, retried until the frontend answers (Connection.connect round-trips getSystemInfo). */
export function connectWhenServing(address: string, opts: RetryOptions): Promise<Connection> {
  return retryUntilServing(address, (timeoutMs) => Connection.connect({ address, connectTimeout: timeoutMs }), opts);
}

/**
 * True when something accepts TCP connections at host:port. `renga dev` asks this rather than for a
 * Temporal answer: a busy server that is slow to answer is still there, and starting a second one on
 * its port would only fail.
 */
export function portAcceptsConnections(address: string, timeoutMs = 2_000): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
