/**
 * What the worker's payload codec hands a workflow instead of a payload it can never read (a
 * claim-check reference that is not a payload key, e.g. a crafted path). Throwing in the codec would
 * fail the workflow *task*, which Temporal retries forever; this value reaches the workflow, whose
 * interceptor (workflows/payload-interceptors.ts) fails the run with the named failure instead.
 * Sandbox-safe: the codec (Node) builds it, the workflow reads it.
 */
export const UNDECODABLE_KEY = '$rengaUndecodablePayload';

export interface Undecodable {
  /** A FailureType (shared/failures.ts), e.g. InvalidPayloadRef. */
  type: string;
  message: string;
}

/** The undecodable marker among a workflow's (or a signal's, an update's) arguments, if any. */
export function undecodableIn(args: readonly unknown[]): Undecodable | null {
  for (const arg of args) {
    if (typeof arg !== 'object' || arg === null || !(UNDECODABLE_KEY in arg)) continue;
    const inner: unknown = (arg as Record<string, unknown>)[UNDECODABLE_KEY];
    if (typeof inner !== 'object' || inner === null) continue;
    const { type, message } = inner as Record<string, unknown>;
    if (typeof type === 'string' && typeof message === 'string') return { type, message };
  }
  return null;
}
