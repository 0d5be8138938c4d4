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
}
export interface PlanOutput {
  plan: Plan;
  shared: SharedContextRef;
  calls: CallUsage[];
  attempt: number;
}

export interface SubtaskInput {
  subtask: Subtask;
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
}
export interface SubtaskOutput {
  output: string;
  /** Blob key of the full output, when `previewChars` was set. */
  outputRef?: string;
  call: CallUsage;
  attempt: number;
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
}
export interface SynthesizeOutput {
  answer: string;
  call: CallUsage;
  attempt: number;
}
