/**
 * The zod checks workflow code runs: a job's and a batch's input, and a child job's result document.
 *
 * The schemas are required on first use, not imported. A reusable V8 context gives every run its
 * own module cache, so a top-level import would evaluate zod and every schema (~25 ms of CPU,
 * BENCHMARKS.md "Sixth round") at the start of every shard, sub-agent and rate-limiter run too,
 * none of which parses anything. Workflow code imports constants from shared/limits.ts instead.
 */
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
