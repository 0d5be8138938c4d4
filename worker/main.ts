/**
 * `renga worker`: validates the environment, connects, and runs until SIGINT/SIGTERM, letting
 * in-flight subtasks finish within the grace time. Without ANTHROPIC_API_KEY (and no explicit
 * ANTHROPIC_BASE_URL) it serves model calls from the local simulator, and says so loudly.
 */
import { NativeConnection } from '@temporalio/worker';
import { createCodecs } from '../shared/codec';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from '../shared/config';
import { startSimulator, type Simulator } from '../simulator/server';
import { installRuntime, tuningFromConfig } from './operations';
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
  // Before any connection: the runtime carries the logger and the Prometheus exporter.
  const runtime = installRuntime(config);
  log ??= config.RENGA_LOG_FORMAT === 'json' ? (line) => runtime.logger.info(line.trim()) : console.error;
  const codecs = createCodecs(config);
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
    rateLimits: config.RENGA_RATE_LIMITS,
  });
  log(
    `renga worker on ${config.TEMPORAL_ADDRESS} namespace=${config.TEMPORAL_NAMESPACE} task queue=${config.RENGA_TASK_QUEUE} ` +
      `planner=${config.RENGA_PLANNER_MODEL} worker=${config.RENGA_WORKER_MODEL}${simulator ? ` (simulator ${simulator.url})` : ''} ` +
      `encryption=${codecs.encryption.activeKeyId ? `on (key ${codecs.encryption.activeKeyId})` : 'off'}` +
      `${config.RENGA_METRICS_ADDRESS && runtime.installed ? ` metrics=http://${config.RENGA_METRICS_ADDRESS}/metrics` : ''}`,
  );
  // Worker.run() itself drains on SIGINT/SIGTERM (the runtime's default shutdown signals).
  const done = worker.run().finally(async () => {
    await connection.close();
    await simulator?.close();
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
