/**
 * Batch runs (`renga batch run`, `renga schedule …`): the batch workflow's input, its carried-over
 * state across continue-as-new, and its result. Pure zod; workflow code requires it lazily
 * (workflows/validation.ts) and takes its numbers from shared/limits.ts.
 */
import { z } from 'zod';
import { DEFAULT_BATCH_CONCURRENCY, DEFAULT_BATCH_PAGE_SIZE, MAX_BATCH_JOBS } from './limits';
import { JobStatusSchema, ModelUsageSchema } from './schemas';

export const BatchModeSchema = z.enum(['direct', 'batch-api']);
export type BatchMode = z.infer<typeof BatchModeSchema>;

export const JobOutcomeSchema = z.object({
  /** 1-based line of the jobs file. */
  line: z.number().int().positive(),
  workflowId: z.string(),
  status: JobStatusSchema,
  costUsd: z.number().nonnegative(),
  error: z.string().nullable(),
});
export type JobOutcome = z.infer<typeof JobOutcomeSchema>;

export const BatchCountsSchema = z.object({
  completed: z.number().int().nonnegative(),
  partial: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
});
export type BatchCounts = z.infer<typeof BatchCountsSchema>;

/** Everything one run hands to the next through continue-as-new. */
export const BatchCarrySchema = z.object({
  cursor: z.number().int().nonnegative(),
  runs: z.number().int().positive(),
  counts: BatchCountsSchema,
  costUsd: z.number().nonnegative(),
  byModel: z.record(z.string(), ModelUsageSchema),
  outcomes: z.array(JobOutcomeSchema),
  failures: z.array(JobOutcomeSchema),
  peakRunning: z.number().int().nonnegative(),
  startedAt: z.string(),
});
export type BatchCarry = z.infer<typeof BatchCarrySchema>;

export const BatchInputSchema = z
  .object({
    /** Schedule name, or a label for a one-off run. */
    name: z.string().min(1).max(200),
    /** Job inputs as given (the jobs file's lines); jobWorkflow validates each again. */
    jobs: z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_BATCH_JOBS),
    concurrency: z.number().int().min(1).max(1_000).default(DEFAULT_BATCH_CONCURRENCY),
    mode: BatchModeSchema.default('direct'),
    pageSize: z.number().int().min(1).max(2_000).default(DEFAULT_BATCH_PAGE_SIZE),
    /** Only with mode batch-api: first poll of a message batch after this many seconds. */
    batchPollSeconds: z.number().int().min(1).max(3_600).optional(),
    carry: BatchCarrySchema.optional(),
  })
  .strict();
export type BatchInputArg = z.input<typeof BatchInputSchema>;
export type BatchInput = z.output<typeof BatchInputSchema>;

export const BatchResultSchema = z.object({
  workflowId: z.string(),
  name: z.string(),
  mode: BatchModeSchema,
  jobs: z.number().int().nonnegative(),
  counts: BatchCountsSchema,
  usage: z.object({ byModel: z.record(z.string(), ModelUsageSchema), costUsd: z.number().nonnegative() }),
  /** Workflow runs the batch took (continue-as-new). */
  runs: z.number().int().positive(),
  /** Most child workflows that were running at once. */
  peakRunning: z.number().int().nonnegative(),
  outcomes: z.array(JobOutcomeSchema),
  /** True when there were more jobs than MAX_LISTED_OUTCOMES; `failures` is still complete up to its cap. */
  outcomesTruncated: z.boolean(),
  failures: z.array(JobOutcomeSchema),
  timing: z.object({ startedAt: z.string(), endedAt: z.string() }),
});
export type BatchResult = z.infer<typeof BatchResultSchema>;

export const BatchProgressSchema = z.object({
  jobs: z.number().int(),
  done: z.number().int(),
  running: z.number().int(),
  counts: BatchCountsSchema,
  costUsd: z.number(),
  runs: z.number().int(),
});
export type BatchProgress = z.infer<typeof BatchProgressSchema>;
