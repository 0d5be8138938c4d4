/**
 * Cancel semantics of a job, in one place (docs: README "Cancelling a job").
 *
 * - A cancel — `renga cancel` (the `cancel` signal) or a Temporal cancel request (Web UI,
 *   `temporal workflow cancel`, `handle.cancel()`) — stops whatever phase is running: planning,
 *   the approval wait, the fan-out (running subtasks are cancelled, queued ones skipped) or the
 *   synthesis (the call is abandoned; its outputs are kept, the answer stays null).
 * - The job then *returns* its result document with status `cancelled` and every finished
 *   subtask, so the run completes normally even after a Temporal cancel request and
 *   `renga result` shows the document whichever way the job was cancelled.
 * - `renga cancel --synthesize` asks for an answer from what finished: a synthesis already
 *   running is left to finish; otherwise one runs (not cancellable) before the job returns.
 */
import type { Phase } from '../shared/schemas';
import type { CancelRequest } from './definitions';

/** True when a cancel must not interrupt the running step (a synthesis the caller wants finished). */
export function keepRunningOnCancel(phase: Phase, req: CancelRequest): boolean {
  return phase === 'synthesizing' && req.synthesize;
}

/** The cancel reason, noting that the requested synthesis failed (the outputs are still there). */
export function synthesisFailedNote(reason: string | null, failure: string): string {
  return `${reason ?? 'cancel requested'}; the requested synthesis failed (${failure})`;
}

/** The failure an activity or child workflow raised, without Temporal's wrapper (now in shared/failures.ts). */
export { unwrap } from '../shared/failures';
