import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Connection } from '@temporalio/client';
import { ensureTemporalBinary } from './binary';

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface DevServerOptions {
  /** Frontend gRPC port; 0/undefined picks a free one. */
  port?: number;
  /** Web UI port; undefined picks a free one; null runs headless. */
  uiPort?: number | null;
  /** SQLite file that persists across restarts; undefined keeps everything in memory. */
  dbFile?: string;
  namespace?: string;
  ip?: string;
  searchAttributes?: Record<string, SearchAttributeType>;
  /** Passed as `--dynamic-config-value key=<JSON value>`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Receives server stdout/stderr lines; default discards them. */
  log?: (line: string) => void;
  startTimeoutMs?: number;
  /** Where the Web UI's browser code sends payloads to decode (`renga codec-server`). */
  uiCodecEndpoint?: string;
  /** Serves the server's Prometheus metrics on this port (the benchmark's profile counts RPCs there). */
  metricsPort?: number;
}

export interface DevServer {
  /** 'host:port' for Connection.connect / NativeConnection.connect. */
  readonly address: string;
  readonly port: number;
  readonly uiPort: number | null;
  readonly uiUrl: string | null;
  readonly namespace: string;
  readonly dbFile: string | null;
  /** Changes after restart(). */
  readonly pid: number;
  /** SIGTERM, wait for exit, SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; waits for exit. */
  kill(): Promise<void>;
  /** stop(), then start again on the same ports and db file; resolves once ready. */
  restart(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
/** Output kept for error messages even when `log` discards it. */
const OUTPUT_TAIL_LINES = 40;

/**
 * Spawns `temporal server start-dev` as our own child rather than through
 * TestWorkflowEnvironment.createLocal, which allows the server only 5 s to come up and cannot
 * stop and restart it on the same database file.
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const bin = await ensureTemporalBinary();
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const port = opts.port ? opts.port : await freePort(ip);
  const uiPort = opts.uiPort === null ? null : (opts.uiPort ?? (await freePort(ip)));
  const dbFile = opts.dbFile === undefined ? null : path.resolve(opts.dbFile);
  if (dbFile) fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const address = `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
  const args = buildArgs({ ...opts, ip, namespace, port, uiPort, dbFile });
  const log = opts.log ?? (() => undefined);
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;

  let proc = await launch(bin, args, address, namespace, log, startTimeoutMs);

  const stop = async (): Promise<void> => {
    if (proc.exited) return;
    proc.child.kill('SIGTERM');
    const exited = await Promise.race([
      proc.exit.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref()),
    ]);
    if (!exited) {
      proc.child.kill('SIGKILL');
      await proc.exit;
    }
  };

  return {
    address,
    port,
    uiPort,
    uiUrl: uiPort === null ? null : `http://${ip.includes(':') ? `[${ip}]` : ip}:${uiPort}`,
    namespace,
    dbFile,
    get pid(): number {
      return proc.pid;
    },
    stop,
    async kill(): Promise<void> {
      if (proc.exited) return;
      proc.child.kill('SIGKILL');
      await proc.exit;
    },
    async restart(): Promise<void> {
      await stop();
      proc = await launch(bin, args, address, namespace, log, startTimeoutMs);
    },
  };
}

/** True when a Temporal frontend answers at `address` within `timeoutMs`. */
export async function isTemporalReachable(address: string, timeoutMs = 5_000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    // Connection.connect already round-trips getSystemInfo before it resolves.
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** Asks the OS for a port that is free right now (bind to 0 and read it back). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not read a free port'))));
    });
  });
}

interface ResolvedArgs extends Omit<DevServerOptions, 'uiPort' | 'dbFile'> {
  ip: string;
  namespace: string;
  port: number;
  uiPort: number | null;
  dbFile: string | null;
}

function buildArgs(o: ResolvedArgs): string[] {
  const args = ['server', 'start-dev', '--ip', o.ip, '--port', String(o.port), '--log-level', 'warn'];
  // The server must not pick up a developer's ~/.config/temporal profile or TEMPORAL_* variables,
  // which are meant for clients (TEMPORAL_ADDRESS points at the server we are starting).
  args.push('--disable-config-file', '--disable-config-env');
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.uiPort !== null && o.uiCodecEndpoint) args.push('--ui-codec-endpoint', o.uiCodecEndpoint);
  if (o.metricsPort) args.push('--metrics-port', String(o.metricsPort));
  for (const [name, type] of Object.entries(o.searchAttributes ?? {})) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  // The version check phones home; CI has no internet and tests should not depend on it.
  const dynamicConfig = { 'frontend.enableServerVersionCheck': false, ...o.dynamicConfig };
  for (const [key, value] of Object.entries(dynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  return args;
}

interface Running {
  child: ChildProcess;
  pid: number;
  exited: boolean;
  exit: Promise<void>;
}

async function launch(
  bin: string,
  args: string[],
  address: string,
  namespace: string,
  log: (line: string) => void,
  startTimeoutMs: number,
): Promise<Running> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    log(line);
  };
  // Always drain both pipes: a full pipe buffer would block the server.
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);

  const running: Running = {
    child,
    pid: -1,
    exited: false,
    exit: new Promise<void>((resolve) => {
      child.once('exit', () => {
        running.exited = true;
        untrackChild(child);
        resolve();
      });
    }),
  };
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) => {
      running.exited = true;
      untrackChild(child);
      reject(new Error(`could not start ${bin}: ${err.message}`));
    });
  });
  spawnError.catch(() => undefined);
  if (child.pid === undefined) await spawnError;
  running.pid = child.pid!;
  trackChild(child);

  const describe = (why: string): Error =>
    new Error(`Temporal dev server at ${address} ${why}.\n${bin} ${args.join(' ')}\n${tail.join('\n')}`);
  try {
    await Promise.race([
      waitUntilReady(address, namespace, startTimeoutMs, () => running.exited).catch((err: unknown) => {
        throw describe(`did not become ready within ${startTimeoutMs} ms (${errorMessage(err)})`);
      }),
      running.exit.then(() => {
        throw describe(`exited during startup with ${exitDescription(child)}`);
      }),
      spawnError,
    ]);
  } catch (err) {
    if (!running.exited) {
      child.kill('SIGKILL');
      await running.exit;
    }
    throw err;
  }
  return running;
}

/** Polls with a real client until the namespace is described, with capped exponential backoff. */
async function waitUntilReady(
  address: string,
  namespace: string,
  timeoutMs: number,
  gaveUp: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let lastError: unknown;
  while (!gaveUp()) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const attemptMs = Math.min(remaining, 5_000);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: attemptMs });
      const conn = connection;
      // The frontend answers before the namespace is registered; workers and clients need both.
      await conn.withDeadline(Date.now() + attemptMs, () => conn.workflowService.describeNamespace({ namespace }));
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 1_000);
  }
  throw lastError instanceof Error ? lastError : new Error('timed out');
}

function exitDescription(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// Orphaned dev servers hold ports and the SQLite file, so they die with us. 'exit' covers normal
// exit, process.exit() and uncaught exceptions. A fatal signal skips 'exit', so we also listen for
// signals, but only act when nobody else does: an app with its own handler (e.g. a graceful
// `renga dev` shutdown) owns the order of teardown, and we must not change its exit behaviour.
const liveChildren = new Set<ChildProcess>();
const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAllChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
}

function onFatalSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAllChildren();
  removeProcessHooks();
  // Re-raise so the process dies of the signal exactly as it would have without us.
  process.kill(process.pid, signal);
}

function addProcessHooks(): void {
  process.on('exit', killAllChildren);
  for (const sig of FATAL_SIGNALS) process.on(sig, onFatalSignal);
}

function removeProcessHooks(): void {
  process.removeListener('exit', killAllChildren);
  for (const sig of FATAL_SIGNALS) process.removeListener(sig, onFatalSignal);
}

function trackChild(child: ChildProcess): void {
  if (liveChildren.size === 0) addProcessHooks();
  liveChildren.add(child);
}

function untrackChild(child: ChildProcess): void {
  // Hooks come off with the last child so idle processes (and jest) keep default signal handling.
  if (liveChildren.delete(child) && liveChildren.size === 0) removeProcessHooks();
}
