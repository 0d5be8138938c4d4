/**
 * A renga worker in its own process, for the benchmark: its peak RSS is its own, and it can be
 * SIGKILLed. Configured by one JSON argument (BenchWorkerConfig); prints READY once polling.
 */
import { NativeConnection } from '@temporalio/worker';
import { loadWorkerConfig } from '../shared/config';
import { shutdownTracing, startTracing } from '../shared/telemetry';
import { installRuntime } from '../worker/operations';
import { createRengaWorker, type RengaWorkerOptions } from '../worker/worker';
import { benchAsDeployed } from './source-maps';

export interface BenchWorkerConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  simUrl: string;
  blobDir: string;
  bundlePath: string;
  maxConcurrentActivities: number;
  planMaxTokens: number;
  pollers?: RengaWorkerOptions['pollers'];
  /**
   * Load everything, print LOADED, and start the worker only on SIGUSR2: the recovery section starts
   * a replacement at the kill without timing tsx compiling the sources (reported apart as start-up).
   */
  startOnSignal?: boolean;
  /** RENGA_RATE_LIMITS (the rate-limit section compares admission with 'off'). */
  rateLimits?: RengaWorkerOptions['rateLimits'];
  /** false: the replacement in the recovery section does not reclaim a dead worker's calls (as on another host). */
  reclaimOnStart?: boolean;
  /** Trace over OTLP/HTTP to this endpoint (the features section's sink); absent: no tracing. */
  otlpTracesUrl?: string;
}

export const READY = 'BENCH-WORKER-READY';
export const LOADED = 'BENCH-WORKER-LOADED';

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '') as BenchWorkerConfig;
  benchAsDeployed();
  if (cfg.startOnSignal) {
    // A signal listener does not keep the process alive; the interval does, until the signal.
    const alive = setInterval(() => undefined, 60_000);
    const go = new Promise((resolve) => process.once('SIGUSR2', resolve));
    console.log(LOADED);
    await go;
    clearInterval(alive);
  }
  // The runtime, log level and heap a `renga worker` gets from its environment (INFO unless RENGA_LOG_LEVEL says otherwise).
  const env = loadWorkerConfig({
    RENGA_LOG_LEVEL: process.env.RENGA_LOG_LEVEL,
    RENGA_WORKER_HEAP: process.env.RENGA_WORKER_HEAP,
  });
  installRuntime(env);
  if (cfg.otlpTracesUrl) {
    // startTracing reads the OTEL_* variables; the OTLP exporter reads its endpoint from the environment itself.
    process.env.OTEL_TRACES_EXPORTER = 'otlp';
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = cfg.otlpTracesUrl;
  }
  const tracing = cfg.otlpTracesUrl ? startTracing('renga-bench-worker') : null;
  const connection = await NativeConnection.connect({ address: cfg.address });
  const worker = await createRengaWorker({
    connection,
    namespace: cfg.namespace,
    taskQueue: cfg.taskQueue,
    anthropic: { apiKey: 'sim-key', baseURL: cfg.simUrl },
    models: { planner: 'claude-sonnet-4-6', worker: 'claude-haiku-4-5' },
    blobDir: cfg.blobDir,
    workflowBundle: { codePath: cfg.bundlePath },
    maxConcurrentActivities: cfg.maxConcurrentActivities,
    planMaxTokens: cfg.planMaxTokens,
    shutdownGraceTime: '1s',
    pollers: cfg.pollers,
    rateLimits: cfg.rateLimits,
    reclaimOnStart: cfg.reclaimOnStart,
    tracing,
    heap: env.RENGA_WORKER_HEAP,
  });
  const running = worker.run();
  console.log(READY);
  await running;
  await connection.close();
  await shutdownTracing();
}

if (require.main === module) {
  main().catch((err) => {
    console.error('bench worker failed:', err);
    process.exit(1);
  });
}
