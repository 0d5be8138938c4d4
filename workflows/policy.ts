/**
 * The one retry and activity-options policy of every workflow. Temporal, not the SDK, owns every
 * retry of a model call (activities/errors.ts decides which failures are retryable), so these are
 * the only backoff numbers in renga.
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';

/** Exponential backoff 1 s → 60 s; `maxAttempts` is the job's (default 8). */
export function retryPolicy(maxAttempts: number): RetryPolicy {
  return { initialInterval: 1_000, backoffCoefficient: 2, maximumInterval: 60_000, maximumAttempts: maxAttempts };
}

/** What a model-call activity needs to know about the job it belongs to. */
export interface CallLimits {
  maxAttempts: number;
  heartbeatTimeoutSeconds: number;
  subtaskTimeoutSeconds: number;
}

/**
 * Plan, subtask and synthesis calls: a worker that stops heartbeating for `heartbeatTimeoutSeconds`
 * is presumed dead and the call is retried elsewhere; one attempt may stream for `subtaskTimeoutSeconds`.
 */
export function modelCallOptions(limits: CallLimits): ActivityOptions {
  // Milliseconds, not strings like '5s': the SDK parses a string again for every call it schedules.
  return {
    startToCloseTimeout: limits.subtaskTimeoutSeconds * 1_000,
    heartbeatTimeout: limits.heartbeatTimeoutSeconds * 1_000,
    retry: retryPolicy(limits.maxAttempts),
  };
}

/** Message Batches calls (submit, check, fetch a page, cancel): short requests, a page can take minutes. */
export function messageBatchOptions(maxAttempts: number): ActivityOptions {
  return { startToCloseTimeout: '5 minutes', heartbeatTimeout: '60s', retry: retryPolicy(maxAttempts) };
}

/** Blob store writes: local or S3 I/O, idempotent (content-addressed), so retried generously. */
export const BLOB_STORE_OPTIONS: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 10 } };
