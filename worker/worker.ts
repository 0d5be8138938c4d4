/** Builds a renga worker: one task queue, jobWorkflow plus the model-calling activities. */
import {
  type NativeConnection,
  Runtime,
  Worker,
  type WorkerDeploymentOptions,
  type WorkerOptions,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { Duration, PayloadCodec } from '@temporalio/common';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../activities';
import { Admission } from '../activities/admission';
import { BlobStore } from '../activities/blob-store';
import { createAnthropicClient } from '../activities/llm';
import type { RateLimitsSetting } from '../shared/rate-limits';
import type { ToolRegistry } from '../activities/tools/registry';
import type { Tracing } from '../shared/telemetry';
import { type WorkerTuning } from './operations';
import { anthropicLogger } from './sdk-logging';
import { formatIdentity, thisWorker, type WorkerIdentity } from './identity';
import { reclaimFromGoneWorkers } from './reclaim';
import { applyWorkerHeap, type WorkerHeap } from './heap';
import { releaseStickyWorkflows, runningWorkflows } from './sticky';
import { WORKFLOW_INTERCEPTOR_MODULES, workerInterceptors, workerSinks } from './telemetry';
import { trimWorkflowBundle } from './workflow-bundle';

export interface RengaWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  anthropic: { apiKey?: string; baseURL?: string };
  models: { planner: string; worker: string };
  blobDir: string;
  /** Overrides blobDir: the configured object store (S3 or a directory), with encryption when on. */
  blobStore?: BlobStore;
  streamIdleMs?: number;
  maxConcurrentActivities?: number;
  /** Pre-bundled workflow code (tests bundle once per file); default: the production bundle if built. */
  workflowBundle?: WorkflowBundleOption;
  /** How long in-flight subtasks may finish after SIGTERM before they are handed back. */
  shutdownGraceTime?: Duration;
  /** Encryption / claim-check codecs (shared/codec.ts); must match the clients'. */
  payloadCodecs?: PayloadCodec[];
  /**
   * Encryption on: failure messages and stack traces are encoded, hence encrypted (shared/failure-converter.ts).
   * A `workflowBundle` given with it must have been bundled with that failure converter.
   */
  encodeFailures?: boolean;
  /** Worker Versioning (worker/versioning.ts): this worker's deployment version; unset, unversioned. */
  deployment?: WorkerDeploymentOptions;
  /** Workflow-task concurrency and model-call rate limits (worker/operations.ts). */
  tuning?: WorkerTuning;
  /** RENGA_RATE_LIMITS: explicit limits per model family, or 'off'; unset: learned from the API (activities/admission.ts). */
  rateLimits?: RateLimitsSetting;
  /** Rate-limit admission (default: a new one from `rateLimits`); its owner calls drain() on shutdown. */
  admission?: Admission;
  /** Tools for sub-agents (RENGA_MCP_CONFIG servers and TypeScript tools); default: the built-in ones. */
  tools?: ToolRegistry;
  /** OpenTelemetry tracing (shared/telemetry.ts); null or absent: no spans. */
  tracing?: Tracing | null;
  /** See ActivityDeps.planMaxTokens (benchmarks against the simulator only). */
  planMaxTokens?: number;
  /**
   * At start, fail at once the model calls that a worker of this host, now gone, had taken
   * (worker/reclaim.ts), instead of waiting out their heartbeat timeout. Default true; the benchmark
   * and a test turn it off to see what a replacement on another host sees.
   */
  reclaimOnStart?: boolean;
  /** RENGA_WORKER_HEAP (worker/heap.ts): how much garbage V8 may hold before it collects; default 'lean'. */
  heap?: WorkerHeap;
  /** Poller and cache settings, passed through to Worker.create (the benchmark compares them). */
  pollers?: Pick<
    WorkerOptions,
    | 'maxConcurrentActivityTaskPolls'
    | 'maxConcurrentWorkflowTaskPolls'
    | 'maxCachedWorkflows'
    | 'stickyQueueScheduleToStartTimeout'
  >;
}

/** The bundle `npm run build` writes; Temporal recommends shipping prebuilt workflow code. */
export const PRODUCTION_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');
/** The same code with the encoding failure converter, for workers with encryption on. */
export const PRODUCTION_BUNDLE_ENCODED_FAILURES = path.resolve(__dirname, '..', 'workflow-bundle.encoded-failures.js');
/** The failure converter module of workers and clients with encryption on. */
export const FAILURE_CONVERTER_PATH = require.resolve('../shared/failure-converter');

export function workflowCodeOption(
  bundle?: WorkflowBundleOption,
  encodeFailures = false,
): { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } {
  if (bundle) return { workflowBundle: bundle };
  // Only trust the prebuilt bundle when running compiled code next to it; from sources, bundle fresh.
  const prebuilt = encodeFailures ? PRODUCTION_BUNDLE_ENCODED_FAILURES : PRODUCTION_BUNDLE;
  if (__filename.endsWith('.js') && existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  return { workflowsPath: require.resolve('../workflows') };
}

export async function createRengaWorker(opts: RengaWorkerOptions): Promise<Worker> {
  const self = thisWorker();
  const slots = opts.tuning?.maxConcurrentActivities ?? opts.maxConcurrentActivities ?? 100;
  await takeOverFromDeadWorkers(opts, self).catch((err: unknown) =>
    Runtime.instance().logger.warn('could not look for the work of dead workers on start', {
      error: err instanceof Error ? err.message : String(err),
    }),
  );
  const activities = createActivities({
    anthropic: createAnthropicClient({ ...opts.anthropic, logger: anthropicLogger(Runtime.instance().logger) }),
    blobs: opts.blobStore ?? new BlobStore(opts.blobDir),
    models: opts.models,
    streamIdleMs: opts.streamIdleMs ?? 30_000,
    planMaxTokens: opts.planMaxTokens,
    admission: opts.admission ?? new Admission({ setting: opts.rateLimits }),
    tools: opts.tools,
    slots,
  });
  const code = workflowCodeOption(opts.workflowBundle, opts.encodeFailures);
  // Before Worker.create starts the workflow threads, whose isolates read the semi-space ceiling.
  applyWorkerHeap(opts.heap ?? 'lean');
  const tracing = opts.tracing ?? null;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    // pid@host plus the PID namespace and start time: what lets a later worker on this host prove this one gone.
    identity: formatIdentity(self),
    activities,
    ...code,
    // Queue-ahead calls that wait behind another hold a slot, never the last free one (activities/handoffs.ts).
    maxConcurrentActivityTaskExecutions: slots,
    // Each heartbeat goes out when the activity sends it (activities/heartbeats.ts: every second at
    // most), so a live call is heard from well within renga's 5 s heartbeat timeout, and a cancel
    // reaches it within about a second (cancellation arrives only in a heartbeat's response).
    maxHeartbeatThrottleInterval: '1s',
    // A workflow task waiting on a dead worker's sticky queue moves to the shared queue after this
    // (default 10 s); takeOverFromDeadWorkers above spares even that when a worker starts.
    stickyQueueScheduleToStartTimeout: '3s',
    // The default of 0 would cancel every in-flight model call the moment a deploy sends SIGTERM.
    shutdownGraceTime: opts.tuning?.shutdownGraceTime ?? opts.shutdownGraceTime ?? '30s',
    ...(opts.tuning?.maxConcurrentWorkflowTasks
      ? { maxConcurrentWorkflowTaskExecutions: opts.tuning.maxConcurrentWorkflowTasks }
      : {}),
    ...(opts.tuning?.maxActivitiesPerSecond ? { maxActivitiesPerSecond: opts.tuning.maxActivitiesPerSecond } : {}),
    ...(opts.tuning?.maxTaskQueueActivitiesPerSecond
      ? { maxTaskQueueActivitiesPerSecond: opts.tuning.maxTaskQueueActivitiesPerSecond }
      : {}),
    ...(opts.deployment ? { workerDeploymentOptions: opts.deployment } : {}),
    // failureConverterPath serves the activities and a fresh bundle; a prebuilt one carries its own.
    dataConverter: {
      ...(opts.payloadCodecs ? { payloadCodecs: opts.payloadCodecs } : {}),
      ...(opts.encodeFailures ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
    },
    // A prebuilt bundle already contains the workflow interceptor modules (bundled with them).
    interceptors: {
      ...workerInterceptors(tracing),
      ...('workflowsPath' in code ? { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } : {}),
    },
    // Bundled here from sources: the same trimming as every other renga bundle (worker/workflow-bundle.ts).
    ...('workflowsPath' in code ? { bundlerOptions: { webpackConfigHook: trimWorkflowBundle } } : {}),
    sinks: workerSinks(tracing),
    ...opts.pollers,
  });
}

/**
 * A starting worker is often a dead one's replacement. Jobs a dead worker had cached: their next
 * workflow task skips its sticky queue (worker/sticky.ts). Calls a dead worker of this host had
 * taken: failed now, so Temporal retries them without waiting out their heartbeat timeout
 * (worker/reclaim.ts). Both before polling, so the retries come to a worker that is about to poll.
 */
async function takeOverFromDeadWorkers(opts: RengaWorkerOptions, self: WorkerIdentity): Promise<void> {
  const running = await runningWorkflows(opts.connection, opts.namespace, opts.taskQueue);
  const [, reclaimed] = await Promise.all([
    releaseStickyWorkflows(opts.connection, opts.namespace, running),
    opts.reclaimOnStart === false ? 0 : reclaimFromGoneWorkers(opts.connection, opts.namespace, running, self),
  ]);
  if (reclaimed > 0) {
    Runtime.instance().logger.info(`retrying ${reclaimed} model call(s) that a dead worker on this host had taken`, {
      reclaimed,
    });
  }
}
