/**
 * Defaults and ceilings of job and batch input (shared/schemas.ts, shared/batch.ts) that other code
 * needs too. Apart from the schemas because workflow code imports them, and every workflow run
 * evaluates what it imports afresh: this module costs nothing, zod ~25 ms a run (docs/architecture.md).
 */

export const DEFAULT_MAX_SUBTASKS = 8;
export const DEFAULT_CONCURRENCY = 8;
/**
 * Hard ceilings. Plans larger than `shardSize` fan out through child workflows (workflows/shard.ts),
 * so no single run nears Temporal's history (51,200 events) or pending-activity (2,000) limits.
 */
export const MAX_SUBTASKS_LIMIT = 10_000;
/** Subtasks per child workflow once a plan is larger than this: ~3 events each keeps a shard near 4 Ki events. */
export const DEFAULT_SHARD_SIZE = 500;
export const MAX_SHARD_SIZE = 1_000;
export const MAX_CONCURRENCY_LIMIT = 500;
/** Job text and inline context together must stay well under Temporal's 2 MiB payload limit. */
export const MAX_JOB_CHARS = 100_000;
export const MAX_CONTEXT_CHARS = 1_000_000;

export const DEFAULT_MAX_TURNS = 10;
export const MAX_TURNS_LIMIT = 200;
/** A tool result longer than this many characters goes back to the model cut (and says so). */
export const MAX_TOOL_RESULT_CHARS = 100_000;

// Batches (shared/batch.ts).
export const DEFAULT_BATCH_CONCURRENCY = 10;
/** Child workflows per run before continue-as-new (also earlier when Temporal suggests it). */
export const DEFAULT_BATCH_PAGE_SIZE = 200;
/** Per-job outcomes kept in the result; beyond this only failures (and counts) are listed. */
export const MAX_LISTED_OUTCOMES = 2_000;
export const MAX_LISTED_FAILURES = 200;
/** The whole job list travels in the workflow input: keep it well below the 2 MiB payload limit. */
export const MAX_JOBS_FILE_BYTES = 1_500_000;
export const MAX_BATCH_JOBS = 20_000;
