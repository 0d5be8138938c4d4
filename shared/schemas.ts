/**
 * The one source of truth for what crosses a boundary: job input (client → workflow), the plan
 * (planner model → workflow), subtask results and the result document (workflow → client).
 * Everything here is pure zod so the workflow sandbox can import it too.
 */
import { z } from 'zod';
import {
  DEFAULT_MAX_SUBTASKS,
  DEFAULT_CONCURRENCY,
  MAX_SUBTASKS_LIMIT,
  DEFAULT_SHARD_SIZE,
  MAX_SHARD_SIZE,
  MAX_CONCURRENCY_LIMIT,
  MAX_JOB_CHARS,
  MAX_CONTEXT_CHARS,
  DEFAULT_MAX_TURNS,
  MAX_TURNS_LIMIT,
} from './limits';
import { textProblem } from './text';

const modelId = z
  .string()
  .trim()
  .min(1, 'the model name is empty')
  .regex(/^[a-z0-9][a-z0-9.\-_:@]*$/i, 'a model id such as claude-haiku-4-5');

/** A tool name as the model sees it (`mcp__fs__read_file`, `word_count`), or a prefix of such names (`mcp__fs`). */
export const ToolPatternSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'a tool name or prefix such as mcp__fs or mcp__fs__read_file');
/** Job text of any origin passes the same check (shared/text.ts). */
const cleanText = (s: string, ctx: z.core.$RefinementCtx<string>) => {
  const problem = textProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

export const ContextFileSchema = z.object({
  name: z.string().min(1).superRefine(cleanText),
  content: z.string().superRefine(cleanText),
});
export type ContextFile = z.infer<typeof ContextFileSchema>;

/**
 * What `renga redo` carries into the new job (workflows/redo.ts): the original's plan, the results
 * it reuses unpaid, and what runs again. Declared before the job input that holds it.
 */
export const RedoSpecSchema = z.strictObject({
  /** Workflow id of the job redone. */
  of: z.string().min(1),
  plan: z.lazy(() => PlanSchema),
  /** The original's results of every subtask not redone, kept as they ended there. */
  reuse: z.array(z.lazy(() => SubtaskResultSchema)),
  /** Subtask ids to run again; empty: only the synthesis runs again (it always does). */
  subtasks: z.array(z.string().min(1)),
  /** The model for what is redone: the named subtasks, or the synthesis when none is named. */
  model: modelId.optional(),
});
export type RedoSpec = z.infer<typeof RedoSpecSchema>;

export const JobInputSchema = z
  .object({
    job: z
      .string()
      .trim()
      .min(1, 'the job text is empty')
      .max(MAX_JOB_CHARS, `the job text is longer than ${MAX_JOB_CHARS} characters`)
      .superRefine(cleanText),
    context: z.array(ContextFileSchema).default([]),
    maxSubtasks: z.number().int().min(1).max(MAX_SUBTASKS_LIMIT).default(DEFAULT_MAX_SUBTASKS),
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY_LIMIT).default(DEFAULT_CONCURRENCY),
    plannerModel: modelId.optional(),
    workerModel: modelId.optional(),
    /** Share of subtasks (0..1) that may fail before the whole job is failed instead of marked partial. */
    maxFailureRatio: z.number().min(0).max(1).default(0.5),
    /** Output token cap per subtask call; keeps each result far below the payload limit. */
    subtaskMaxTokens: z.number().int().min(16).max(16_000).default(2_048),
    /** Attempts per model call (Temporal retry policy) before a subtask counts as failed. */
    maxAttempts: z.number().int().min(1).max(100).default(8),
    /**
     * A worker that stops heartbeating this long is presumed dead and its calls are retried elsewhere.
     * Live calls heartbeat every second (activities/heartbeats.ts), so 2 s finds a dead worker fast.
     */
    // 5 s, not less: a live call heartbeats every second (activities/heartbeats.ts), so a worker must
    // stall for 4 s (GC, a CPU-throttled container) before a live call is retried and paid again;
    // 2 s finds a dead worker ~3 s sooner but leaves a margin of one second.
    heartbeatTimeoutSeconds: z.number().int().min(1).max(600).default(5),
    subtaskTimeoutSeconds: z.number().int().min(5).max(86_400).default(900),
    /** Wait after planning for `renga approve` / `renga reject` before spending on subtasks. */
    approvePlan: z.boolean().default(false),
    /** How long an unapproved plan waits before the job fails with PlanApprovalTimedOut. */
    approvalTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .default(86_400),
    /** 'batch-api': subtasks go through the Message Batches API (half price, results within 24 h). */
    fanOut: z.enum(['direct', 'batch-api']).default('direct'),
    /** First poll of a submitted message batch after this long; the interval then doubles, up to 10 minutes. */
    batchPollSeconds: z.number().int().min(1).max(3_600).default(30),
    /** Plans with more subtasks than this run in child workflows of this many subtasks each. */
    shardSize: z.number().int().min(2).max(MAX_SHARD_SIZE).default(DEFAULT_SHARD_SIZE),
    // Spend and quality (workflows/budget.ts, workflows/routing.ts, workflows/subtask-policy.ts).
    /** Ceiling on the job's model spend in USD; no call starts whose worst case would cross it. */
    budgetUsd: z.number().positive().max(1_000_000).optional(),
    /** 'auto': each subtask runs on the model of the tier the planner gave it; 'off': all on the worker model. */
    route: z.enum(['auto', 'off']).default('auto'),
    /** A JSON Schema every subtask answer must match (structured output, then validated). */
    subtaskOutputSchema: z.record(z.string(), z.unknown()).optional(),
    /** Extended thinking budgets (tokens, priced as output) for the planner/synthesizer and the workers. */
    plannerThinkingTokens: z.number().int().min(1_024).max(32_000).optional(),
    workerThinkingTokens: z.number().int().min(1_024).max(32_000).optional(),
    /** Tools (names or `mcp__server` prefixes) the job's sub-agents may use; the planner picks per subtask. */
    tools: z.array(ToolPatternSchema).max(64).optional(),
    /** Model turns a sub-agent may take before it fails with MaxTurnsExceeded. */
    maxTurns: z.number().int().min(1).max(MAX_TURNS_LIMIT).default(DEFAULT_MAX_TURNS),
    /**
     * Queue-ahead lanes (workflows/queue-ahead.ts): each lane's next call waits on the worker behind
     * the one running, so no round trip through the workflow sits between two calls; still at most
     * `concurrency` calls at once. false: lanes wait for each result in the workflow, as before.
     */
    queueAhead: z.boolean().default(true),
    /** Set by `renga redo`: the original's plan and finished outputs, reused instead of paid again. */
    redo: RedoSpecSchema.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    // The ledger lives in one workflow run: sharded children and a Message Batch (all submitted at
    // once) would need their own share of it, which they do not have yet.
    if (input.budgetUsd !== undefined && input.fanOut === 'batch-api') {
      ctx.addIssue({
        code: 'custom',
        path: ['budgetUsd'],
        message: "a budget cannot be used with fanOut 'batch-api' yet",
      });
    }
    if (input.budgetUsd !== undefined && input.maxSubtasks > input.shardSize) {
      ctx.addIssue({
        code: 'custom',
        path: ['budgetUsd'],
        message: `a budget needs maxSubtasks ≤ shardSize (${input.shardSize}): sharded fan-outs cannot share a budget yet`,
      });
    }
    if (input.tools?.length && input.fanOut === 'batch-api') {
      ctx.addIssue({
        code: 'custom',
        path: ['tools'],
        message: "sub-agents with tools run turn by turn and cannot go through fanOut 'batch-api'",
      });
    }
    if (input.redo) {
      const ids = new Set(input.redo.plan.subtasks.map((s) => s.id));
      const unknown = input.redo.subtasks.filter((id) => !ids.has(id));
      if (unknown.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['redo', 'subtasks'],
          message: `no subtask ${unknown.join(', ')} in the plan (it has ${[...ids].join(', ')})`,
        });
      }
    }
    const total = input.context.reduce((n, f) => n + f.content.length, 0);
    if (total > MAX_CONTEXT_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['context'],
        message: `context files total ${total} characters, more than the ${MAX_CONTEXT_CHARS} allowed`,
      });
    }
  });
/** What callers may pass (defaults optional). */
export type JobInputArg = z.input<typeof JobInputSchema>;
/** What the workflow works with after validation. */
export type JobInput = z.output<typeof JobInputSchema>;

/** What the planner model is asked to produce; ids are assigned by renga, never trusted from the model. */
export const PlannerOutputSchema = z.object({
  subtasks: z
    .array(
      z.object({
        title: z.string().min(1).describe('a short title, at most 80 characters'),
        instructions: z.string().min(1).describe('self-contained instructions for a worker model'),
        kind: z
          .string()
          .min(1)
          .describe('what kind of work: e.g. writing, summary, fact-lookup, code-reference, analysis'),
        // A union of literals (not an enum) so that the schema's first choice is the cheap one.
        tier: z
          .union([z.literal('fast'), z.literal('strong')])
          // Routing is advice, not a reason to repair a plan: an unreadable tier runs as fast.
          .catch('fast')
          .describe('fast (cheap model) or strong (accurate model) — see the routing guidance'),
        tierReason: z.string().min(1).describe('one line: why this tier'),
      }),
    )
    .min(1),
});
export type PlannerOutput = z.infer<typeof PlannerOutputSchema>;

export const TierSchema = z.enum(['fast', 'strong']);
export type Tier = z.infer<typeof TierSchema>;

export const SubtaskSchema = z.object({
  id: z.string(),
  title: z.string(),
  instructions: z.string(),
  /** The planner's routing: the kind of work, the tier it needs and why (absent in plans made before routing). */
  kind: z.string().optional(),
  tier: TierSchema.optional(),
  tierReason: z.string().optional(),
  /** Tools this subtask's sub-agent may call; absent or empty: one plain model call. */
  tools: z.array(z.string()).optional(),
});
export type Subtask = z.infer<typeof SubtaskSchema>;

export const PlanSchema = z.object({
  subtasks: z.array(SubtaskSchema).min(1),
  /** Set when the planner offered more subtasks than `maxSubtasks`: how many; the plan keeps the first. */
  trimmedFrom: z.number().int().positive().optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

export const TokenUsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheWriteTokens: z.number().int().nonnegative(),
});
export type TokenUsage = z.infer<typeof TokenUsageSchema>;

/** What one model call cost; every activity that calls a model returns one. */
export const CallUsageSchema = z.object({
  model: z.string(),
  usage: TokenUsageSchema,
  costUsd: z.number().nonnegative(),
});
export type CallUsage = z.infer<typeof CallUsageSchema>;

/** One tool call of a sub-agent, as the result document lists it (the result text stays in the blob store). */
export const ToolCallSchema = z.object({
  name: z.string(),
  ok: z.boolean(),
  ms: z.number().int().nonnegative(),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

export const SubtaskStatusSchema = z.enum(['completed', 'failed', 'skipped']);

export const SubtaskResultSchema = z.object({
  id: z.string(),
  status: SubtaskStatusSchema,
  /**
   * The output; for sharded jobs a short preview, the full text being in the blob store under `outputRef`
   * (no `outputRef`: the output is whole, it fitted the preview).
   */
  output: z.string().nullable(),
  outputRef: z.string().optional(),
  model: z.string(),
  attempts: z.number().int().nonnegative(),
  usage: TokenUsageSchema,
  error: z.string().nullable(),
  /** How the accepted (or last) answer ended: end_turn, max_tokens, refusal, … */
  stopReason: z.string().nullable().optional(),
  /** The model the subtask started on when it was escalated to another (refusal, truncation, invalid output). */
  escalatedFrom: z.string().nullable().optional(),
  /** USD per model over every call of this subtask (continuations, repairs and escalations included). */
  costByModel: z.record(z.string(), z.number().nonnegative()).optional(),
  /** Jobs made by `renga redo`: the job whose result this is, taken as it was and not paid for again. */
  reusedFrom: z.string().optional(),
  /** Model turns taken (1 for a plain call, 0 if it never ran). */
  turns: z.number().int().nonnegative().optional(),
  toolCalls: z.array(ToolCallSchema).optional(),
  /** Sub-agents: blob key of the conversation (`renga result <id> --transcript <subtask>`). */
  transcriptRef: z.string().optional(),
});
export type SubtaskResult = z.infer<typeof SubtaskResultSchema>;

export const ModelUsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
});

export const JobStatusSchema = z.enum(['completed', 'failed', 'cancelled', 'partial']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const ShardSummarySchema = z.object({
  index: z.number().int().nonnegative(),
  /** First and last subtask id of the shard. */
  first: z.string(),
  last: z.string(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  resultsRef: z.string().nullable(),
});
export type ShardSummary = z.infer<typeof ShardSummarySchema>;

export const BudgetSummarySchema = z.object({
  limitUsd: z.number().nonnegative(),
  spentUsd: z.number().nonnegative(),
  exhausted: z.boolean(),
});
export type BudgetSummary = z.infer<typeof BudgetSummarySchema>;

export const CostReportSchema = z.object({
  /** The strong model every call would have used. */
  strongModel: z.string(),
  actualUsd: z.number().nonnegative(),
  /** The same tokens, all on the strong model, no cache, no batch discount. */
  allStrongUsd: z.number().nonnegative(),
  /** actualUsd / allStrongUsd. */
  ratio: z.number().nonnegative(),
  savingsUsd: z.object({
    routing: z.number(),
    caching: z.number(),
    batches: z.number(),
  }),
});
export type CostReport = z.infer<typeof CostReportSchema>;

export const ResultDocumentSchema = z.object({
  workflowId: z.string(),
  status: JobStatusSchema,
  plan: PlanSchema.nullable(),
  subtasks: z.array(SubtaskResultSchema),
  answer: z.string().nullable(),
  usage: z.object({
    byModel: z.record(z.string(), ModelUsageSchema),
    costUsd: z.number().nonnegative(),
  }),
  timing: z.object({ startedAt: z.string(), endedAt: z.string() }),
  error: z.string().nullable().optional(),
  /**
   * Sharded jobs only (plan larger than `shardSize`): 10,000 full entries would not fit Temporal's
   * 2 MiB result limit, so `subtasks` then lists only the subtasks that did not complete, and each
   * shard's full per-subtask results (JSON array of SubtaskResult) are in the blob store under `resultsRef`.
   */
  shards: z.array(ShardSummarySchema).optional(),
  /** Jobs with `budgetUsd`: the ceiling, what was spent, and whether it stopped the fan-out. */
  budget: BudgetSummarySchema.optional(),
  /** What the job would have cost all on the strong model, and what routing, caching and batches saved. */
  costReport: CostReportSchema.optional(),
  /** Jobs made by `renga redo`: the original, the subtasks reused from it and those run again (the synthesis always is). */
  redo: z
    .object({
      of: z.string(),
      reused: z.array(z.string()),
      redone: z.array(z.string()),
      /** The model given with --model (the redone subtasks', or the synthesis's when none was redone). */
      model: z.string().nullable(),
    })
    .optional(),
});
export type ResultDocument = z.infer<typeof ResultDocumentSchema>;

export const PhaseSchema = z.enum(['planning', 'awaiting-approval', 'fanout', 'synthesizing', 'done']);
export type Phase = z.infer<typeof PhaseSchema>;

export const SubtaskStateSchema = z.enum(['queued', 'running', 'completed', 'failed', 'skipped']);
export type SubtaskState = z.infer<typeof SubtaskStateSchema>;

export const ProgressSchema = z.object({
  phase: PhaseSchema,
  /** Set once the job has ended (the query still answers afterwards). */
  status: JobStatusSchema.nullable(),
  total: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  running: z.number().int(),
  cancelRequested: z.boolean(),
  costUsd: z.number(),
  /** Billed input (incl. cache) and output tokens so far, all models. */
  tokens: z.object({ input: z.number().int(), output: z.number().int() }),
  subtasks: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      state: SubtaskStateSchema,
      attempts: z.number().int(),
      error: z.string().nullable(),
      /** Sub-agents: turns and tool calls finished so far (a running one's live turn is its child workflow's query). */
      turns: z.number().int().optional(),
      toolCalls: z.number().int().optional(),
    }),
  ),
  plannerModel: z.string().nullable(),
  workerModel: z.string().nullable(),
  budget: BudgetSummarySchema.optional(),
});
export type Progress = z.infer<typeof ProgressSchema>;

/** Turns a zod error into one line per problem, each naming its field. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`).join('; ');
}
