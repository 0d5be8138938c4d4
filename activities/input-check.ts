/**
 * checkJobInput: a job's input check, run by the job as a local activity (workflows/validation.ts)
 * instead of in its workflow run, where evaluating zod and the schemas cost ~25 ms of CPU each run
 * (BENCHMARKS.md, "Sixth round"). Its answer is recorded in the history, so a replay does not check
 * again, and a later change of the schema's defaults cannot change what a running job started with.
 */
import { JobInputSchema, describeZodError, type JobInput } from '../shared/schemas';

/**
 * The answer: every problem found, or the fields the check changed (defaults filled in, text
 * trimmed). Only those: the rest, the job's context among them, is in the start event already.
 */
export type JobInputCheck = { ok: true; changed: Partial<JobInput> } | { ok: false; problem: string };

export function checkJobInput(raw: unknown): JobInputCheck {
  const parsed = JobInputSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: describeZodError(parsed.error) };
  // The schema is a strict object, so a valid input holds only the keys the output has.
  const given = raw as Record<string, unknown>;
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (JSON.stringify(value) !== JSON.stringify(given[key])) changed[key] = value;
  }
  return { ok: true, changed: changed as Partial<JobInput> };
}
