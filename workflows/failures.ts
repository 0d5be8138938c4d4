/** Reading activity failures in workflow code: a one-line cause and the attempt it happened on. */
import { ApplicationFailure } from '@temporalio/workflow';

export function describeFailure(err: unknown): string {
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** activities/errors.ts puts `{ attempt }` in every failure's details; null when it is not ours. */
export function attemptOf(err: unknown): number | null {
  if (!(err instanceof ApplicationFailure)) return null;
  const d = err.details?.[0];
  if (d && typeof d === 'object' && 'attempt' in d && typeof d.attempt === 'number') return d.attempt;
  return null;
}
