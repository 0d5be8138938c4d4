/**
 * What can go wrong in a job, named once for activities, workflows and clients. Sandbox-safe (no
 * Node APIs): workflow code imports it too. Every failure is built by `failure()`, which keeps the
 * cause, so the Temporal UI and `renga status` show the whole chain down to the HTTP error.
 */
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';

/** Failure types, as they appear in the Temporal UI and in `ApplicationFailure.type`. */
export const FailureType = {
  // A model call (activities/errors.ts classifies every SDK error into one of these).
  InvalidRequest: 'InvalidRequest',
  AuthenticationFailed: 'AuthenticationFailed',
  PermissionDenied: 'PermissionDenied',
  ModelNotFound: 'ModelNotFound',
  RequestTooLarge: 'RequestTooLarge',
  RateLimited: 'RateLimited',
  Overloaded: 'Overloaded',
  ServerError: 'ServerError',
  StreamError: 'StreamError',
  StreamStalled: 'StreamStalled',
  ConnectionError: 'ConnectionError',
  InvalidModelOutput: 'InvalidModelOutput',
  /** The planner's answer was cut off at max_tokens even at smaller pages (activities/plan.ts). */
  PlanTruncated: 'PlanTruncated',
  InvalidInput: 'InvalidInput',
  ContextMissing: 'ContextMissing',
  /** A payload's claim-check reference is not a payload key (e.g. a crafted path): the run fails (shared/codec.ts). */
  InvalidPayloadRef: 'InvalidPayloadRef',
  Unexpected: 'UnexpectedError',
  // A job or batch (workflows/).
  InvalidJobInput: 'InvalidJobInput',
  InvalidBatchInput: 'InvalidBatchInput',
  PlanApprovalTimedOut: 'PlanApprovalTimedOut',
  /** An approve/reject update sent to a job that is not waiting for one (rejected by the validator). */
  NotAwaitingApproval: 'NotAwaitingApproval',
  RejectionReasonMissing: 'RejectionReasonMissing',
  TooManySubtasksFailed: 'TooManySubtasksFailed',
  JobFailed: 'JobFailed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Model-call failures that would fail every other call the same way: the job stops instead of retrying N subtasks. */
export const FATAL_FOR_JOB: ReadonlySet<string> = new Set([
  FailureType.ModelNotFound,
  FailureType.AuthenticationFailed,
  FailureType.PermissionDenied,
]);

/**
 * Request errors that stop the job only when the API refused a part every call of the job sends alike
 * (FailureDetails.requestWide): the model's context window, max_tokens, the request's size. A 400 about
 * one subtask's own text fails that subtask only.
 */
export const FATAL_FOR_JOB_WHEN_REQUEST_WIDE: ReadonlySet<string> = new Set([
  FailureType.InvalidRequest,
  FailureType.RequestTooLarge,
]);

/** Details attached to every model-call failure so the workflow can report attempts without guessing. */
export interface FailureDetails {
  attempt: number;
  status: number | null;
  requestId: string | null;
  /**
   * A 400/413 about what every call of the same job and model sends alike, not this call's own text
   * (activities/errors.ts decides from the API's error). Optional: histories recorded before it lack it.
   */
  requestWide?: boolean;
}

export interface FailureOptions {
  /** What caused it; non-Error values are wrapped so the chain is never dropped. */
  cause?: unknown;
  nonRetryable?: boolean;
  details?: unknown[];
  /** Milliseconds before the next attempt, overriding the retry policy's backoff once (e.g. retry-after). */
  nextRetryDelay?: number;
}

/** The one way renga builds a failure: a named type, a message, and the cause it came from. */
export function failure(type: FailureType | string, message: string, opts: FailureOptions = {}): ApplicationFailure {
  const cause =
    opts.cause === undefined || opts.cause === null
      ? undefined
      : opts.cause instanceof Error
        ? opts.cause
        : new Error(String(opts.cause));
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: opts.nonRetryable ?? false,
    ...(cause ? { cause } : {}),
    ...(opts.details ? { details: opts.details } : {}),
    ...(opts.nextRetryDelay !== undefined ? { nextRetryDelay: opts.nextRetryDelay } : {}),
  });
}

/** One line naming what went wrong, for result documents and progress. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** The attempt a model-call failure happened on (its FailureDetails); null when it is not one of ours. */
export function attemptOf(err: unknown): number | null {
  if (!(err instanceof ApplicationFailure)) return null;
  const d = err.details?.[0];
  if (d && typeof d === 'object' && 'attempt' in d && typeof d.attempt === 'number') return d.attempt;
  return null;
}

/** True when this failure means every other call of the job would fail the same way. */
export function isFatalForJob(err: unknown): err is ApplicationFailure {
  if (!(err instanceof ApplicationFailure) || typeof err.type !== 'string') return false;
  if (FATAL_FOR_JOB.has(err.type)) return true;
  if (!FATAL_FOR_JOB_WHEN_REQUEST_WIDE.has(err.type)) return false;
  const d = err.details?.[0];
  return typeof d === 'object' && d !== null && 'requestWide' in d && d.requestWide === true;
}

/** The failure an activity or child workflow raised, without Temporal's wrapper. */
export function unwrap(err: unknown): unknown {
  return err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? (err.cause ?? err) : err;
}
