/**
 * `renga worker`: validates the environment, connects, and runs until SIGINT/SIGTERM, letting
 * in-flight subtasks finish within the grace time. Without ANTHROPIC_API_KEY (and no explicit
 * ANTHROPIC_BASE_URL) it serves model calls from the local simulator, and says so loudly.
 */
import { NativeConnection } from '@temporalio/worker';
import { createCodecs } from '../shared/codec';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from '../shared/config';
import { startSimulator, type Simulator } from '../simulator/server';
import { setModelContentCapture } from '../activities/model-span';
import { shutdownTracing, startTracing } from '../shared/telemetry';
import { freePort } from '../temporal/dev-server';
import { serveMetrics, type MetricsServer } from './metrics-server';
import { installRuntime, tuningFromConfig } from './operations';
import { routeConsoleWarnings } from './sdk-logging';
import { createRengaWorker } from './worker';

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

export async function startWorker(config: WorkerConfig, log?: (line: string) => void): Promise<RunningWorker> {
  // Before any connection: the runtime carries the logger and the Prometheus exporter, which listens
  // on a private port; RENGA_METRICS_ADDRESS serves renga's metrics and the runtime's together.
  const coreMetrics = config.RENGA_METRICS_ADDRESS ? `127.0.0.1:${await freePort()}` : undefined;
  const runtime = installRuntime(config, coreMetrics);
  log ??= config.RENGA_LOG_FORMAT === 'json' ? (line) => runtime.logger.info(line.trim()) : console.error;
  // The SDK prints model deprecation notices with console.warn: keep them in renga's log format.
  const restoreConsole = routeConsoleWarnings(runtime.logger);
  const codecs = createCodecs(config);
  const tracing = startTracing('renga-worker');
  // Prompt and answer text leave the process only on request, and never when payloads are encrypted.
  const encrypted = codecs.encryption.activeKeyId !== null;
  setModelContentCapture(tracing !== null && config.RENGA_OTEL_CAPTURE_CONTENT && !encrypted);
  if (config.RENGA_OTEL_CAPTURE_CONTENT && encrypted) {
    runtime.logger.warn('RENGA_OTEL_CAPTURE_CONTENT is ignored: payload encryption is on');
  }
  const metrics: MetricsServer | null = config.RENGA_METRICS_ADDRESS
    ? await serveMetrics(config.RENGA_METRICS_ADDRESS, runtime.installed ? coreMetrics : undefined)
    : null;
  let simulator: Simulator | null = null;
  let baseURL = config.ANTHROPIC_BASE_URL;
  if (!config.ANTHROPIC_API_KEY && !baseURL) {
    simulator = await startSimulator({ latencyMs: { '*': 300 } });
    baseURL = simulator.url;
    log(SIMULATED_BANNER);
  }
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await createRengaWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.RENGA_TASK_QUEUE,
    anthropic: { apiKey: config.ANTHROPIC_API_KEY, baseURL },
    models: { planner: config.RENGA_PLANNER_MODEL, worker: config.RENGA_WORKER_MODEL },
    blobDir: config.RENGA_BLOB_DIR,
    streamIdleMs: config.RENGA_STREAM_IDLE_SECONDS * 1000,
    tuning: tuningFromConfig(config),
    payloadCodecs: codecs.chain,
    tracing,
  });
  log(
    `renga worker on ${config.TEMPORAL_ADDRESS} namespace=${config.TEMPORAL_NAMESPACE} task queue=${config.RENGA_TASK_QUEUE} ` +
      `planner=${config.RENGA_PLANNER_MODEL} worker=${config.RENGA_WORKER_MODEL}${simulator ? ` (simulator ${simulator.url})` : ''} ` +
      `encryption=${codecs.encryption.activeKeyId ? `on (key ${codecs.encryption.activeKeyId})` : 'off'}` +
      `${metrics ? ` metrics=${metrics.url}` : ''}${tracing ? ' tracing=on' : ''}`,
  );
  // Worker.run() itself drains on SIGINT/SIGTERM (the runtime's default shutdown signals).
  const done = worker.run().finally(async () => {
    await connection.close();
    await simulator?.close();
    await metrics?.close();
    // Spans still in the batcher are sent before the process exits.
    await shutdownTracing();
    restoreConsole();
  });
  return { done, shutdown: () => worker.shutdown(), simulator };
}

async function main(): Promise<void> {
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`renga worker: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const running = await startWorker(config);
  await running.done;
}

if (require.main === module) {
  main().catch((err) => {
    console.error('renga worker failed:', err);
    process.exit(1);
  });
}
