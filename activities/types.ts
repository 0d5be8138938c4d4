/** Activity inputs and outputs: the contract between workflows/ and activities/ (types only). */
import type { CallUsage, ContextFile, Plan, Subtask } from '../shared/schemas';

/**
 * The job text plus its context, passed to every subtask. Small ones travel inline; large ones are
 * stored once by the plan activity and passed by hash, so N subtasks do not copy them N times
 * into the history.
 */
export type SharedContextRef = { kind: 'inline'; text: string } | { kind: 'blob'; key: string; chars: number };

/** The tools a job may use, as the planner sees them (no schemas: those stay on the worker). */
export interface ToolSummary {
  name: string;
  description: string;
}

export interface PlanInput {
  job: string;
  context: ContextFile[];
  maxSubtasks: number;
  /** null: the worker's configured planner model (RENGA_PLANNER_MODEL). */
  model: string | null;
  /** Tools the job allows (already resolved on a worker): the planner assigns them to subtasks. */
  tools?: ToolSummary[];
  /** With a budget: planning stops (BudgetExhausted) before a call whose worst case would pass this (workflows/budget.ts). */
  allowanceUsd?: number;
  /** The shared prefix's counted tokens on the planner model (the pre-flight's), for the allowance check. */
  sharedTokens?: number;
  /** Earlier planJob activities of the job that failed after paying (the workflow retried them itself). */
  priorAttempts?: number;
  thinkingTokens?: number;
}
export interface PlanOutput {
  plan: Plan;
  shared: SharedContextRef;
  calls: CallUsage[];
  attempt: number;
  /** The worker's configured default models (what a job that names none runs on). */
  models?: { planner: string; worker: string };
}

/** `renga redo`: the shared context of a job whose plan is reused, made without planning. */
export interface ShareContextInput {
  job: string;
  context: ContextFile[];
}
export interface ShareContextOutput {
  shared: SharedContextRef;
  /** The worker's configured default models. */
  models: { planner: string; worker: string };
}

/**
 * What a call reads of its subtask (activities/prompts.ts). The planner's routing (kind, tier and its
 * reason) stays in the workflow: every call's input is written to the history, once per attempt.
 */
export type SubtaskForCall = Pick<Subtask, 'id' | 'title' | 'instructions'>;

export interface SubtaskInput {
  subtask: SubtaskForCall;
  total: number;
  shared: SharedContextRef;
  /** null: the worker's configured worker model (RENGA_WORKER_MODEL). */
  model: string | null;
  maxTokens: number;
  /**
   * Sharded jobs: store the output in the blob store and return only this many characters of it,
   * so 10,000 outputs never pass through a workflow history.
   */
  previewChars?: number;
  /** A continuation: the answer so far, sent as the assistant's turn for the model to go on from. */
  prefill?: string;
  /** A repair round: the previous answer and what was wrong with it. */
  repair?: { previous: string; issues: string };
  /** The job's subtaskOutputSchema: structured output, then validated. */
  outputSchema?: Record<string, unknown>;
  thinkingTokens?: number;
  /** Queue-ahead lanes (workflows/queue-ahead.ts): this call's number in its run, and the call it follows. */
  gate?: CallGate;
}
/**
 * A call's place in its lane pair (workflows/queue-ahead.ts). `after`: the call that holds the pair's
 * slot when this one was scheduled; this call starts only once `after` has ended in the same worker
 * process (activities/handoffs.ts), and otherwise hands itself back unmade.
 */
export interface CallGate {
  call: number;
  after?: number;
}
/** A queued-ahead call that did not run here: the workflow sends it again once its slot is free. */
export interface DeferredCall {
  deferred: true;
  /** The worker had no slot to spare for a waiting call (activities/handoffs.ts). */
  busy?: true;
}
export interface SubtaskOutput {
  output: string;
  /** Blob key of the full output, when `previewChars` was set. */
  outputRef?: string;
  call: CallUsage;
  attempt: number;
  /** How the answer ended: end_turn, max_tokens, refusal, … (absent from results recorded before it existed). */
  stopReason?: string | null;
  /** With an output schema: what the answer got wrong. */
  invalid?: string;
}

export interface SynthesisPart {
  id: string;
  title: string;
  output: string | null;
  error: string | null;
}
export interface SynthesizeInput {
  shared: SharedContextRef;
  parts: SynthesisPart[];
  model: string | null;
  partial: boolean;
  /** Output allowance; default 8,192. */
  maxTokens?: number;
  thinkingTokens?: number;
}
export interface SynthesizeOutput {
  answer: string;
  call: CallUsage;
  attempt: number;
  stopReason?: string | null;
}
