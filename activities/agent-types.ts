/** Inputs and outputs of the sub-agent activities (types only): what subagentWorkflow passes around. */
import type { CallUsage, Subtask } from '../shared/schemas';
import type { SharedContextRef, ToolSummary } from './types';

export type { ToolSummary };

export interface ResolveToolsInput {
  patterns: string[];
}

/** A tool result the model asked for, by reference: its text is in the conversation store. */
export interface ToolResultRef {
  toolUseId: string;
  resultRef: string;
  isError: boolean;
}

export interface AgentTurnInput {
  subtaskId: string;
  turn: number;
  model: string | null;
  maxTokens: number;
  tools: string[];
  /** Turn 1 only: what the conversation starts from. Later turns pass the conversation by reference. */
  start: { subtask: Subtask; total: number; shared: SharedContextRef } | null;
  conversationRef: string | null;
  toolResults: ToolResultRef[];
}

export interface ToolUseRef {
  id: string;
  name: string;
}

export interface AgentTurnOutput {
  conversationRef: string;
  stopReason: string | null;
  /** The answer, once the model stops asking for tools. */
  text: string | null;
  toolUses: ToolUseRef[];
  call: CallUsage;
  attempt: number;
}

export interface ToolCallInput {
  subtaskId: string;
  turn: number;
  conversationRef: string;
  toolUse: ToolUseRef;
}

export interface ToolCallOutput extends ToolResultRef {
  name: string;
  ms: number;
  chars: number;
}
