/**
 * The input checks of workflow code: a job's and a batch's input, and a child job's result document.
 *
 * The schemas are required on first use, not imported. A reusable V8 context gives every run its
 * own module cache, so a top-level import would evaluate zod and every schema (~25 ms of CPU,
 * BENCHMARKS.md "Sixth round") at the start of every shard, sub-agent and rate-limiter run too,
 * none of which parses anything. Workflow code imports constants from shared/limits.ts instead.
 * A job checks its input in a local activity, so its run does not evaluate them either.
 */
import { patched, proxyLocalActivities } from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type * as BatchModule from '../shared/batch';
import type { BatchInput, BatchInputArg } from '../shared/batch';
import { FailureType, failure } from '../shared/failures';
import type * as SchemasModule from '../shared/schemas';
import type { JobInput, JobInputArg, ResultDocument } from '../shared/schemas';

function schemas(): typeof SchemasModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see the module comment
  return require('../shared/schemas') as typeof SchemasModule;
}

function batchSchemas(): typeof BatchModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see the module comment
  return require('../shared/batch') as typeof BatchModule;
}

/** patched() id: a job checks its input in a local activity (checkedJobInput), not in its run. */
export const CHECK_JOB_INPUT_IN_ACTIVITY = 'check-job-input-in-activity';

/**
 * The job input with its defaults, or a non-retryable InvalidJobInput failure naming every problem.
 * The check runs as a local activity in the job's first workflow task: no extra round trip to the
 * server, one marker event. Histories from before it replay the in-workflow check (parseJobInput).
 */
export async function checkedJobInput(raw: JobInputArg): Promise<JobInput> {
  if (!patched(CHECK_JOB_INPUT_IN_ACTIVITY)) return parseJobInput(raw);
  const { checkJobInput } = proxyLocalActivities<RengaActivities>({
    startToCloseTimeout: '1 minute',
    summary: 'check the job input',
  });
  const check = await checkJobInput(raw);
  if (!check.ok) {
    throw failure(FailureType.InvalidJobInput, `invalid job input: ${check.problem}`, { nonRetryable: true });
  }
  return { ...(raw as JobInput), ...check.changed };
}

/** The job input with its defaults, or a non-retryable InvalidJobInput failure naming every problem. */
export function parseJobInput(raw: JobInputArg): JobInput {
  const { JobInputSchema, describeZodError } = schemas();
  const parsed = JobInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw failure(FailureType.InvalidJobInput, `invalid job input: ${describeZodError(parsed.error)}`, {
      nonRetryable: true,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** The batch input with its defaults, or a non-retryable InvalidBatchInput failure naming every problem. */
export function parseBatchInput(raw: BatchInputArg): BatchInput {
  const { describeZodError } = schemas();
  const parsed = batchSchemas().BatchInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw failure(FailureType.InvalidBatchInput, `invalid batch input: ${describeZodError(parsed.error)}`, {
      nonRetryable: true,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** A child job's result document (its return value, or a failure's first detail), or null if it is not one. */
export function resultDocumentOf(value: unknown): ResultDocument | null {
  const doc = schemas().ResultDocumentSchema.safeParse(value);
  return doc.success ? doc.data : null;
}
