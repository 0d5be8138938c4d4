/**
 * `renga worker`: validates the environment, connects, and runs until SIGINT/SIGTERM, letting
 * in-flight subtasks finish within the grace time. Without ANTHROPIC_API_KEY (and no explicit
 * ANTHROPIC_BASE_URL) it serves model calls from the local simulator, and says so loudly.
 */
import { NativeConnection, Runtime, type Logger } from '@temporalio/worker';
import { startWorkerTools } from '../activities/tools/worker-tools';
import { BlobStore } from '../activities/blob-store';
import { Admission } from '../activities/admission';
import { openObjectStore } from '../shared/blobs/open';
import { createCodecs } from '../shared/codec';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from '../shared/config';
import { REALISTIC_LATENCY } from '../simulator/latency';
import {
  connectionOptions,
  describeConnectError,
  isCredentialError,
  TemporalUnreachableError,
} from '../shared/temporal-connection';
import { startSimulator, type Simulator } from '../simulator/server';
import { setModelContentCapture } from '../activities/model-span';
import { shutdownTracing, startTracing, type Tracing } from '../shared/telemetry';
import { retryUntilServing, TemporalNotServingError, type RetryOptions } from '../temporal/connect';
import { freePort } from '../temporal/dev-server';
import { serveMetrics, type MetricsServer } from './metrics-server';
import { installRuntime, tuningFromConfig } from './operations';
import { routeConsoleWarnings } from './sdk-logging';
import { deploymentOptions } from './versioning';
import { createRengaWorker } from './worker';

/** A worker started beside its server (compose, systemd) may come up first: wait this long for it. */
const CONNECT_WAIT_MS = 30_000;

export const SIMULATED_BANNER = [
  '',
  '*****************************************************************',
  '*  ANTHROPIC_API_KEY is not set: model calls go to the LOCAL    *',
  '*  SIMULATOR. Answers are SIMULATED, not written by Claude.     *',
  '*  Set ANTHROPIC_API_KEY to use the real Messages API.          *',
  '*****************************************************************',
  '',
].join('\n');

export interface RunningWorker {
  /** Resolves when the worker has stopped (after a signal or `shutdown()`). */
  done: Promise<void>;
  shutdown(): void;
  simulator: Simulator | null;
}

export interface StartWorkerOptions {
  /** renga's own lines (the simulator banner, the worker's summary line); default stderr. */
  log?: (line: string) => void;
  /** Where the SDK's and core's log lines go; default stderr. */
  sdkLog?: (line: string) => void;
  /** How long to keep retrying the first connection (a server that is still starting). */
  connectWaitMs?: number;
  onConnectRetry?: RetryOptions['onRetry'];
}

export async function startWorker(config: WorkerConfig, opts: StartWorkerOptions = {}): Promise<RunningWorker> {
  // Before any connection: the runtime carries the logger and the Prometheus exporter, which listens
  // on a private port; RENGA_METRICS_ADDRESS serves renga's metrics and the runtime's together.
  const coreMetrics = config.RENGA_METRICS_ADDRESS ? `127.0.0.1:${await freePort()}` : undefined;
  const runtime = installRuntime(config, opts.sdkLog, coreMetrics);
  const log =
    opts.log ??
    (config.RENGA_LOG_FORMAT === 'json' ? (line: string) => runtime.logger.info(line.trim()) : console.error);
  // A payload reference no worker could ever read fails its run (InvalidPayloadRef), not its task forever.
  const codecs = createCodecs(config, { invalidRefs: 'fail-run' });
  const observability = await startObservability(config, runtime, codecs.encryption.activeKeyId !== null, coreMetrics);
  // Before anything starts: an invalid RENGA_MCP_CONFIG stops the worker before it takes any work.
  const tools = await startWorkerTools(config.RENGA_MCP_CONFIG, log);
  let simulator: Simulator | null = null;
  let baseURL = config.ANTHROPIC_BASE_URL;
  if (!config.ANTHROPIC_API_KEY && !baseURL) {
    // Real models' speeds, so a local run shows what the fan-out buys.
    simulator = await startSimulator({ ...REALISTIC_LATENCY });
    baseURL = simulator.url;
    log(SIMULATED_BANNER);
  }
  const address = config.TEMPORAL_ADDRESS;
  const connection = await retryUntilServing(
    address,
    () => NativeConnection.connect(connectionOptions(address, config.temporal)),
    { deadlineMs: opts.connectWaitMs ?? CONNECT_WAIT_MS, onRetry: opts.onConnectRetry, isFinal: isCredentialError },
  ).catch(async (err: unknown) => {
    throw await describeConnectError(
      err instanceof TemporalNotServingError ? err.cause : err,
      address,
      config.temporal,
    );
  });
  const admission = new Admission({ setting: config.RENGA_RATE_LIMITS });
  const worker = await createRengaWorker({
    connection,
    admission,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.RENGA_TASK_QUEUE,
    anthropic: { apiKey: config.ANTHROPIC_API_KEY, baseURL },
    models: { planner: config.RENGA_PLANNER_MODEL, worker: config.RENGA_WORKER_MODEL },
    blobDir: config.RENGA_BLOB_DIR,
    blobStore: new BlobStore(openObjectStore(config, 'blobs'), codecs.encryption),
    streamIdleMs: config.RENGA_STREAM_IDLE_SECONDS * 1000,
    deployment: deploymentOptions(config),
    tuning: tuningFromConfig(config),
    heap: config.RENGA_WORKER_HEAP,
    payloadCodecs: codecs.chain,
    encodeFailures: codecs.encryption.enabled,
    tools,
    tracing: observability.tracing,
  });
  log(
    `renga worker on ${config.TEMPORAL_ADDRESS} namespace=${config.TEMPORAL_NAMESPACE} task queue=${config.RENGA_TASK_QUEUE} ` +
      `planner=${config.RENGA_PLANNER_MODEL} worker=${config.RENGA_WORKER_MODEL}${simulator ? ` (simulator ${simulator.url})` : ''} ` +
      `encryption=${codecs.encryption.activeKeyId ? `on (key ${codecs.encryption.activeKeyId})` : 'off'} ` +
      `blobs=${config.RENGA_BLOB_URL ?? config.RENGA_BLOB_DIR}` +
      `${observability.metrics ? ` metrics=${observability.metrics.url}` : ''}${observability.tracing ? ' tracing=on' : ''}`,
  );
  // Worker.run() itself drains on SIGINT/SIGTERM (the runtime's default shutdown signals); so does
  // admission, which stops waiting on the shared limiter this worker may be the last to serve.
  const signals = Runtime.instance().options.shutdownSignals;
  const drain = () => admission.drain();
  for (const s of signals) process.once(s, drain);
  const done = worker.run().finally(async () => {
    for (const s of signals) process.off(s, drain);
    await connection.close();
    await tools.close();
    await simulator?.close();
    await observability.close();
  });
  return {
    done,
    // The runtime may already be draining the worker (it does on SIGINT/SIGTERM): shutting down a
    // worker that is not RUNNING throws IllegalStateError, and there is nothing left to do anyway.
    shutdown: () => {
      admission.drain();
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
    simulator,
  };
}

/**
 * Traces (OTEL_* variables), the metrics endpoint and SDK warnings through renga's logger. Prompt and
 * answer text leave the process only on request (RENGA_OTEL_CAPTURE_CONTENT), never with payload encryption.
 */
async function startObservability(
  config: WorkerConfig,
  runtime: { logger: Logger; installed: boolean },
  encrypted: boolean,
  coreMetrics: string | undefined,
): Promise<{ tracing: Tracing | null; metrics: MetricsServer | null; close(): Promise<void> }> {
  // The SDK prints model deprecation notices with console.warn: keep them in renga's log format.
  const restoreConsole = routeConsoleWarnings(runtime.logger);
  const tracing = startTracing('renga-worker');
  setModelContentCapture(tracing !== null && config.RENGA_OTEL_CAPTURE_CONTENT && !encrypted);
  if (config.RENGA_OTEL_CAPTURE_CONTENT && encrypted) {
    runtime.logger.warn('RENGA_OTEL_CAPTURE_CONTENT is ignored: payload encryption is on');
  }
  const metrics = config.RENGA_METRICS_ADDRESS
    ? await serveMetrics(config.RENGA_METRICS_ADDRESS, runtime.installed ? coreMetrics : undefined)
    : null;
  return {
    tracing,
    metrics,
    close: async () => {
      await metrics?.close();
      // Spans still in the batcher are sent before the process exits.
      await shutdownTracing();
      restoreConsole();
    },
  };
}

async function main(): Promise<void> {
  let running: RunningWorker;
  try {
    // Configuration problems (environment, RENGA_MCP_CONFIG) are found before any work is taken.
    running = await startWorker(loadWorkerConfig());
  } catch (err) {
    // A refused key is a configuration problem (2); no server or no TLS session is exit 3 (docs/architecture.md).
    if (err instanceof ConfigError || err instanceof TemporalUnreachableError) {
      console.error(`renga worker: ${err.message}`);
      process.exit(err instanceof ConfigError ? 2 : 3);
    }
    throw err;
  }
  await running.done;
}

if (require.main === module) {
  main().catch((err) => {
    console.error('renga worker failed:', err);
    process.exit(1);
  });
}
