/**
 * `renga dev` / `npm run dev`: the whole stack on one machine. Reuses a Temporal server already
 * listening at TEMPORAL_ADDRESS, otherwise starts the pinned dev server (building it on first use)
 * with its Web UI and a database file, so jobs survive a restart of the stack.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadWorkerConfig } from '../shared/config';
import { RENGA_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { ensureTemporalBinary } from '../temporal/binary';
import { isTemporalReachable, startDevServer, type DevServer } from '../temporal/dev-server';
import { startWorker } from '../worker/main';
import { connect, ensureSearchAttributes, getResult, startJob, uiLink } from './api';
import { formatResult } from './format';
import { ensureDevKeys, startDevCodecServer, type DevCodec } from './dev-encryption';
import { buildJobInput } from './input';

export const SAMPLE_JOB =
  'Write a short field guide to five common garden birds: for each, how to recognise it, its song, and what it eats.';

export interface DevOptions {
  job?: string;
  once: boolean;
  dbFile: string;
  /** Encrypt payloads (a dev key beside the database) and serve a codec server for the UI. */
  encrypt?: boolean;
}

export async function runDev(opts: DevOptions): Promise<number> {
  const log = (line: string) => process.stderr.write(`[renga dev] ${line}\n`);
  if (opts.encrypt) ensureDevKeys(opts.dbFile, log);
  const config = loadWorkerConfig();
  const input = buildJobInput(opts.job ?? SAMPLE_JOB, { maxSubtasks: 5 });
  const codec: DevCodec | null = opts.encrypt ? await startDevCodecServer(config.RENGA_UI_URL, log) : null;

  let server: DevServer | null = null;
  let uiUrl = config.RENGA_UI_URL;
  if (await isTemporalReachable(config.TEMPORAL_ADDRESS)) {
    log(`using the Temporal server already at ${config.TEMPORAL_ADDRESS}`);
  } else {
    const port = Number(config.TEMPORAL_ADDRESS.split(':').pop());
    const uiPort = Number(new URL(config.RENGA_UI_URL).port || 8233);
    const bin = await ensureTemporalBinary({ log });
    mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
    log(`starting the Temporal dev server (${bin}) on :${port}, Web UI on :${uiPort}, database ${opts.dbFile}`);
    server = await startDevServer({
      port,
      uiPort,
      dbFile: path.resolve(opts.dbFile),
      namespace: config.TEMPORAL_NAMESPACE,
      searchAttributes: RENGA_SEARCH_ATTRIBUTES,
      uiCodecEndpoint: codec?.uiEndpoint,
    });
    uiUrl = server.uiUrl ?? uiUrl;
  }

  const worker = await startWorker(config, log);
  const stop = async () => {
    worker.shutdown();
    await worker.done.catch(() => undefined);
    await server?.stop();
    await codec?.server.close();
  };

  let code: number;
  const rc = await connect({ ...config, RENGA_UI_URL: uiUrl });
  try {
    // A server we did not start may lack them; the Web UI filters on them.
    await ensureSearchAttributes(rc);
    const id = await startJob(rc, input);
    log(`job ${id} started — watch it in the Web UI: ${uiLink(rc.config, id)}`);
    const doc = await getResult(rc, id);
    process.stdout.write(`${formatResult(doc)}\n\nWeb UI: ${uiLink(rc.config, id)}\n`);
    code = doc.status === 'completed' || doc.status === 'partial' ? 0 : 1;
  } finally {
    await rc.close();
  }

  if (opts.once) {
    await stop();
    return code;
  }
  log(`the stack stays up: Web UI ${uiUrl}, Temporal ${config.TEMPORAL_ADDRESS}. Ctrl-C stops it.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return code;
}
