/**
 * What an operator tunes on a worker: concurrency, model-call rate limits, drain time, the
 * Prometheus endpoint of the Temporal runtime and structured logs. Kept apart from worker.ts so
 * the worker's construction stays readable and every knob maps to one env variable (shared/config.ts).
 */
import type { Duration } from '@temporalio/common';
import { type Context as ActivityContext } from '@temporalio/activity';
import {
  DefaultLogger,
  Runtime,
  type ActivityInterceptors,
  type LogEntry,
  type LogLevel,
  type Logger,
  type WorkerInterceptors,
} from '@temporalio/worker';
import type { WorkerConfig } from '../shared/config';

export interface WorkerTuning {
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  /** Per-worker cap on activity starts per second (each activity is one model call, or a repair pair). */
  maxActivitiesPerSecond?: number;
  /** Cap across every worker on the task queue; the server enforces it. */
  maxTaskQueueActivitiesPerSecond?: number;
  shutdownGraceTime?: Duration;
}

export function tuningFromConfig(config: WorkerConfig): WorkerTuning {
  return {
    maxConcurrentActivities: config.RENGA_MAX_ACTIVITIES,
    maxConcurrentWorkflowTasks: config.RENGA_MAX_WORKFLOW_TASKS,
    maxActivitiesPerSecond: config.RENGA_MAX_ACTIVITIES_PER_SECOND,
    maxTaskQueueActivitiesPerSecond: config.RENGA_TASK_QUEUE_ACTIVITIES_PER_SECOND,
    shutdownGraceTime: config.RENGA_SHUTDOWN_GRACE_SECONDS * 1000,
  };
}

/** Log metadata as JSON: Errors keep their type and message (JSON.stringify drops both), bigints become strings. */
function metaJson(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? {})) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : typeof v === 'bigint' ? String(v) : v;
  }
  return out;
}

function timestamp(entry: LogEntry): string {
  return new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
}

/** One JSON object per line on stderr: what log shippers (Loki, CloudWatch, …) parse without rules. */
export function jsonLogFunction(write: (line: string) => void = (l) => process.stderr.write(l)) {
  return (entry: LogEntry): void => {
    write(
      `${JSON.stringify({ ts: timestamp(entry), level: entry.level, msg: entry.message, ...metaJson(entry.meta) })}\n`,
    );
  };
}

/** One readable line per entry, for a log file (`renga dev` keeps the terminal for the job itself). */
export function textLogFunction(write: (line: string) => void) {
  return (entry: LogEntry): void => {
    const meta = entry.meta ? ` ${JSON.stringify(metaJson(entry.meta))}` : '';
    write(`${timestamp(entry)} [${entry.level}] ${entry.message}${meta}\n`);
  };
}

export interface RuntimeSetup {
  logger: Logger;
  /** False when another part of this process had already created the runtime (e.g. a test harness). */
  installed: boolean;
}

/**
 * Installs the Temporal runtime with the configured logger and, when `coreMetricsAddress` is given,
 * its Prometheus exporter there (a private port: worker/metrics-server.ts serves RENGA_METRICS_ADDRESS
 * with renga's metrics and these). Must run before the first NativeConnection of the process. `write`
 * sends the SDK's and core's log lines somewhere other than stderr (`renga dev`'s log file).
 */
export function installRuntime(
  config: WorkerConfig,
  write?: (line: string) => void,
  coreMetricsAddress?: string,
): RuntimeSetup {
  const level: LogLevel = config.RENGA_LOG_LEVEL;
  const logger =
    config.RENGA_LOG_FORMAT === 'json'
      ? new DefaultLogger(level, jsonLogFunction(write))
      : write
        ? new DefaultLogger(level, textLogFunction(write))
        : new DefaultLogger(level);
  try {
    Runtime.install({
      logger,
      telemetryOptions: {
        // Core's own logs go through the same logger, so JSON mode is JSON everywhere.
        logging: {
          filter: { core: level === 'TRACE' || level === 'DEBUG' ? level : 'WARN', other: 'ERROR' },
          forward: {},
        },
        ...(coreMetricsAddress ? { metrics: { prometheus: { bindAddress: coreMetricsAddress } } } : {}),
      },
    });
    return { logger, installed: true };
  } catch (err) {
    // Runtime.install throws once a runtime exists; keep working with the existing one, but say so.
    logger.warn(
      `Temporal runtime already installed; log format and metrics settings not applied (${(err as Error).message})`,
    );
    return { logger, installed: false };
  }
}

/**
 * Logs each activity's start and end through the activity context logger, which carries
 * workflowId, runId, activityId, activityType and attempt in the log metadata. The start is DEBUG,
 * as in Temporal's own activity logs: the end (or the failure) says as much with its duration, and
 * a line formatted per call costs the fan-out CPU and memory (BENCHMARKS.md "Seventh round").
 */
export function activityLogInterceptor(ctx: ActivityContext): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const started = Date.now();
        ctx.log.debug('activity started');
        try {
          const result = await next(input);
          ctx.log.info('activity completed', { durationMs: Date.now() - started });
          return result;
        } catch (err) {
          const e = err as Error & { type?: string };
          ctx.log.warn('activity failed', {
            durationMs: Date.now() - started,
            error: e.type ?? e.name,
            message: e.message,
          });
          throw err;
        }
      },
    },
  };
}

export const operationsInterceptors: WorkerInterceptors = { activity: [activityLogInterceptor] };
