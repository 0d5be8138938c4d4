/**
 * `renga dev` / `npm run dev`: the whole stack on one machine. Reuses a Temporal server already
 * listening at TEMPORAL_ADDRESS, otherwise starts the pinned dev server (building it on first use)
 * with its Web UI and a database file, so jobs survive a restart of the stack.
 *
 * The terminal tells the job's story: the simulator banner, the live view `renga watch` shows, the
 * answer and the Web UI link. Worker, SDK and server logs go to a file beside the database
 * (`.temporal/dev.log`), or to the terminal with `--verbose`.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadWorkerConfig } from '../shared/config';
import { RENGA_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { ensureTemporalBinary } from '../temporal/binary';
import { portAcceptsConnections } from '../temporal/connect';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { SIMULATED_BANNER, startWorker } from '../worker/main';
import { connect, ensureSearchAttributes, startJob, uiLink } from './api';
import { ensureDevKeys, startDevCodecServer, type DevCodec } from './dev-encryption';
import { buildJobInput } from './input';
import { watchJob } from './watch';

export const SAMPLE_JOB =
  'Write a short field guide to five common garden birds: for each, how to recognise it, its song, and what it eats.';

/**
 * How long the client and worker keep retrying the server this command just started. Its readiness
 * check has passed by then, but on a busy machine a later connection can still take many seconds.
 */
export const DEV_CONNECT_WAIT_MS = 120_000;

export interface DevOptions {
  job?: string;
  once: boolean;
  dbFile: string;
  /** Encrypt payloads (a dev key beside the database) and serve a codec server for the UI. */
  encrypt?: boolean;
  /** Worker, SDK and server logs in the terminal instead of the log file. */
  verbose?: boolean;
}

interface DevLog {
  /** Where the logs go, for the line that says so; null when they go to the terminal. */
  file: string | null;
  write(line: string): void;
  close(): Promise<void>;
}

function openDevLog(dbFile: string, verbose: boolean): DevLog {
  if (verbose) return { file: null, write: (line) => process.stderr.write(withNewline(line)), close: async () => {} };
  const file = path.join(path.dirname(path.resolve(dbFile)), 'dev.log');
  mkdirSync(path.dirname(file), { recursive: true });
  const stream = createWriteStream(file, { flags: 'a' });
  stream.write(`\n==== renga dev ${new Date().toISOString()} ====\n`);
  return {
    file,
    write: (line) => stream.write(withNewline(line)),
    close: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}

/** Relative to the working directory when inside it (`.temporal/dev.log`), else absolute. */
function shortPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

function withNewline(line: string): string {
  return line.endsWith('\n') ? line : `${line}\n`;
}

export async function runDev(opts: DevOptions): Promise<number> {
  const say = (line: string) => process.stderr.write(`[renga dev] ${line}\n`);
  if (opts.encrypt) ensureDevKeys(opts.dbFile, say);
  const config = loadWorkerConfig();
  const input = buildJobInput(opts.job ?? SAMPLE_JOB, { maxSubtasks: 5 });
  const devLog = openDevLog(opts.dbFile, opts.verbose ?? false);
  say(
    devLog.file
      ? `worker, SDK and Temporal server logs: ${shortPath(devLog.file)} (--verbose prints them here)`
      : 'worker, SDK and Temporal server logs follow here (--verbose)',
  );
  const codec: DevCodec | null = opts.encrypt ? await startDevCodecServer(config.RENGA_UI_URL, say) : null;

  let server: DevServer | null = null;
  let uiUrl = config.RENGA_UI_URL;
  // A port that accepts connections has a server behind it, however slow it is to answer: use it.
  if (await portAcceptsConnections(config.TEMPORAL_ADDRESS)) {
    say(`using the Temporal server already at ${config.TEMPORAL_ADDRESS}`);
  } else {
    const port = Number(config.TEMPORAL_ADDRESS.split(':').pop());
    const uiPort = Number(new URL(config.RENGA_UI_URL).port || 8233);
    const bin = await ensureTemporalBinary({ log: say });
    mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
    say(`starting the Temporal dev server on :${port} (Web UI :${uiPort}, database ${opts.dbFile}) — ${bin}`);
    server = await startDevServer({
      port,
      uiPort,
      dbFile: path.resolve(opts.dbFile),
      namespace: config.TEMPORAL_NAMESPACE,
      searchAttributes: RENGA_SEARCH_ATTRIBUTES,
      uiCodecEndpoint: codec?.uiEndpoint,
      log: (line) => devLog.write(`temporal: ${line}`),
    });
    uiUrl = server.uiUrl ?? uiUrl;
  }

  // Said once, the first time an attempt fails: a slow start is normal, silence would look like a hang.
  let warned = false;
  const onRetry = ({ error }: { error: Error }) => {
    devLog.write(`connecting to Temporal at ${config.TEMPORAL_ADDRESS}: ${error.message}; retrying`);
    if (warned) return;
    warned = true;
    say(`waiting for Temporal at ${config.TEMPORAL_ADDRESS} to answer (up to ${DEV_CONNECT_WAIT_MS / 1000} s)…`);
  };
  const worker = await startWorker(config, {
    log: devLog.write,
    sdkLog: devLog.write,
    connectWaitMs: DEV_CONNECT_WAIT_MS,
    onConnectRetry: onRetry,
  });
  if (worker.simulator) process.stderr.write(`${SIMULATED_BANNER}\n`);
  const stop = async () => {
    worker.shutdown();
    await worker.done.catch(() => undefined);
    await server?.stop();
    await codec?.server.close();
    await devLog.close();
  };

  let code: number;
  const rc = await connect({ ...config, RENGA_UI_URL: uiUrl }, { waitMs: DEV_CONNECT_WAIT_MS, onRetry });
  try {
    // A server we did not start may lack them; the Web UI filters on them.
    await ensureSearchAttributes(rc);
    const id = await startJob(rc, input);
    const doc = await watchJob(rc, id, {
      tty: Boolean(process.stdout.isTTY),
      write: (line) => process.stdout.write(`${line}\n`),
      intervalMs: 500,
    });
    const error = doc.error ? `\nerror: ${doc.error}\n` : '';
    process.stdout.write(`${error}\n${doc.answer ?? '(no answer)'}\n\nWeb UI: ${uiLink(rc.config, id)}\n`);
    code = doc.status === 'completed' || doc.status === 'partial' ? 0 : 1;
  } finally {
    await rc.close();
  }

  if (opts.once) {
    await stop();
    return code;
  }
  say(`the stack stays up: Web UI ${uiUrl}, Temporal ${config.TEMPORAL_ADDRESS}. Ctrl-C stops it.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return code;
}
