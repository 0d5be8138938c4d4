/** What subagentWorkflow shares with its parent and with clients (types and the progress query). */
import { defineQuery } from '@temporalio/workflow';
import type { SharedContextRef } from '../activities/types';
import type { CallUsage, Subtask, ToolCall } from '../shared/schemas';

export interface SubagentInput {
  subtask: Subtask;
  /** Subtasks in the whole job (the prompt says "Subtask s3 of 8"). */
  total: number;
  shared: SharedContextRef;
  model: string | null;
  maxTokens: number;
  maxTurns: number;
  maxAttempts: number;
  heartbeatTimeoutSeconds: number;
  /** Start-to-close timeout of one model turn. */
  turnTimeoutSeconds: number;
  /** Start-to-close timeout of one tool call. */
  toolTimeoutSeconds: number;
  /**
   * Jobs with a budget: the share of it the parent reserved for this sub-agent (workflows/spend.ts).
   * A turn whose worst case would cross it is not started; the sub-agent then ends BudgetExhausted.
   */
  budget?: AgentBudget;
}

export interface AgentBudget {
  allowanceUsd: number;
  /** Upper bound of turn 1's input tokens (shared prefix, prompt, subtask, tool definitions). */
  firstTurnInputTokens: number;
}

/** What a finished or failed sub-agent did; a failure carries it in its details so nothing is lost. */
export interface AgentSummary {
  turns: number;
  toolCalls: ToolCall[];
  /** Blob key of the conversation so far (null if the first turn never finished). */
  transcriptRef: string | null;
  /** One entry per finished model turn (usage and USD as the API reported them). */
  calls: CallUsage[];
}

export interface SubagentResult {
  output: string;
  stopReason: string | null;
  /** Usage and cost of all turns together. */
  call: CallUsage;
  attempt: number;
  agent: AgentSummary;
}

export interface AgentProgress {
  subtaskId: string;
  /** The turn running now (or the last one, once finished). */
  turn: number;
  toolCalls: number;
  /** Tool calls in flight now. */
  runningTools: string[];
  done: boolean;
}

export const agentProgressQuery = defineQuery<AgentProgress>('agentProgress');

/** The child workflow id of a subtask's sub-agent: derived, so `renga watch` finds it without asking. */
export function subagentWorkflowId(jobWorkflowId: string, subtaskId: string): string {
  return `${jobWorkflowId}--${subtaskId}`;
}
