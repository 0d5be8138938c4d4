/**
 * subagentWorkflow: one subtask's sub-agent, as a child workflow so its turns are in its own history.
 * The loop is model turn → tool calls → next turn, until the model answers or `maxTurns` is reached.
 * Every turn and every tool call is an activity, so a worker killed at turn k resumes at turn k; the
 * conversation travels by reference, so each event carries a key, not a growing copy.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { AgentTurnOutput, ToolResultRef } from '../activities/agent-types';
import { ZERO_USAGE, addUsage, estimateInputTokens, roundUsd, worstCaseUsd } from '../shared/pricing';
import type { SharedContextRef } from '../activities/types';
import { MAX_TOOL_RESULT_CHARS } from '../shared/limits';
import type { CallUsage, JobInput, Subtask, SubtaskResult, ToolCall } from '../shared/schemas';
import { attemptOf } from '../shared/failures';
import { retryPolicy } from './policy';
import {
  agentProgressQuery,
  subagentWorkflowId,
  type AgentSummary,
  type SubagentInput,
  type SubagentResult,
} from './subagent-definitions';

export async function subagentWorkflow(input: SubagentInput): Promise<SubagentResult> {
  const id = input.subtask.id;
  const tools = input.subtask.tools ?? [];
  const calls: CallUsage[] = [];
  const toolCalls: ToolCall[] = [];
  const running = new Set<string>();
  let turn = 0;
  let conversationRef: string | null = null;
  let done = false;
  setHandler(agentProgressQuery, () => ({
    subtaskId: id,
    turn,
    toolCalls: toolCalls.length,
    runningTools: [...running],
    done,
  }));
  const summary = (): AgentSummary => ({ turns: calls.length, toolCalls, transcriptRef: conversationRef, calls });
  const options = (summaryText: string, timeoutSeconds: number, activityId: string): ActivityOptions => ({
    summary: summaryText,
    activityId,
    startToCloseTimeout: timeoutSeconds * 1_000,
    heartbeatTimeout: input.heartbeatTimeoutSeconds * 1_000,
    retry: retryPolicy(input.maxAttempts),
  });

  let results: ToolResultRef[] = [];
  // With a budget: an upper bound of the next turn's input, grown by what each turn and tool adds.
  let nextInputTokens = input.budget?.firstTurnInputTokens ?? 0;
  try {
    for (turn = 1; turn <= input.maxTurns; turn++) {
      if (input.budget) checkTurnFits(input, turn, nextInputTokens, calls);
      const out: AgentTurnOutput = await proxyActivities<RengaActivities>(
        options(`subtask ${id} · turn ${turn}`, input.turnTimeoutSeconds, `turn-${turn}`),
      ).agentTurn({
        subtaskId: id,
        turn,
        model: input.model,
        maxTokens: input.maxTokens,
        tools,
        start: turn === 1 ? { subtask: input.subtask, total: input.total, shared: input.shared } : null,
        conversationRef,
        toolResults: results,
      });
      calls.push(out.call);
      conversationRef = out.conversationRef;
      const u = out.call.usage;
      nextInputTokens = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens + u.outputTokens;
      if (out.toolUses.length === 0) {
        done = true;
        return {
          output: out.text ?? '',
          stopReason: out.stopReason,
          call: agentTotal(calls),
          attempt: out.attempt,
          agent: summary(),
        };
      }
      if (turn === input.maxTurns) break;
      const ref = conversationRef;
      const at = turn;
      results = await Promise.all(
        out.toolUses.map(async (toolUse, i) => {
          running.add(toolUse.name);
          try {
            const r = await proxyActivities<RengaActivities>(
              options(`tool ${toolUse.name}`, input.toolTimeoutSeconds, `tool-${at}-${i + 1}`),
            ).callTool({ subtaskId: id, turn: at, conversationRef: ref, toolUse });
            toolCalls.push({ name: r.name, ok: !r.isError, ms: r.ms });
            // The result goes back cut at MAX_TOOL_RESULT_CHARS (activities/agent.ts), framed.
            nextInputTokens += estimateInputTokens(Math.min(r.chars, MAX_TOOL_RESULT_CHARS)) + 64;
            return { toolUseId: r.toolUseId, resultRef: r.resultRef, isError: r.isError };
          } finally {
            running.delete(toolUse.name);
          }
        }),
      );
    }
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const failure = cause instanceof ApplicationFailure ? cause : null;
    // The same type as the activity's failure (the job stops on fatal ones), with what was done so far.
    throw ApplicationFailure.create({
      type: failure?.type ?? 'SubagentFailed',
      nonRetryable: true,
      message: failure?.message ?? (cause instanceof Error ? cause.message : String(cause)),
      details: [{ attempt: attemptOf(failure) ?? input.maxAttempts, agent: summary() }],
    });
  }
  turn = input.maxTurns;
  done = true;
  throw ApplicationFailure.create({
    type: 'MaxTurnsExceeded',
    nonRetryable: true,
    message: `the sub-agent of ${id} used its ${input.maxTurns} turns without answering (maxTurns); its transcript is kept`,
    details: [{ attempt: 1, agent: summary() }],
  });
}

/**
 * A budgeted sub-agent starts a turn only if its worst case (every input token at the cache-write
 * price, every allowed output token) fits what is left of its allowance; else it ends BudgetExhausted,
 * its finished turns and transcript kept (the parent skips the subtask and synthesizes what finished).
 */
function checkTurnFits(input: SubagentInput, turn: number, inputTokens: number, calls: CallUsage[]): void {
  const budget = input.budget!;
  const spent = calls.reduce((n, c) => n + c.costUsd, 0);
  const worst = worstCaseUsd(input.model ?? 'unknown', { inputTokens, maxOutputTokens: input.maxTokens });
  if (spent + worst <= budget.allowanceUsd + 1e-9) return;
  throw ApplicationFailure.create({
    type: 'BudgetExhausted',
    nonRetryable: true,
    message: `turn ${turn} of ${input.subtask.id} could cost up to $${worst} but $${roundUsd(Math.max(0, budget.allowanceUsd - spent))} of its $${budget.allowanceUsd} share of the budget is left`,
  });
}

/** Usage and cost of a sub-agent's turns together. */
export function agentTotal(calls: CallUsage[]): CallUsage {
  let usage = ZERO_USAGE;
  let cost = 0;
  for (const c of calls) {
    usage = addUsage(usage, c.usage);
    cost += c.costUsd;
  }
  return { model: calls[0]?.model ?? 'unknown', usage, costUsd: roundUsd(cost) };
}

/** jobWorkflow's one dispatch point for a subtask with tools: run its sub-agent as a child workflow. */
export function runSubagent(input: SubagentInput): Promise<SubagentResult> {
  return executeChild(subagentWorkflow, {
    args: [input],
    workflowId: subagentWorkflowId(workflowInfo().workflowId, input.subtask.id),
    staticSummary: `sub-agent ${input.subtask.id}: ${input.subtask.title}`,
  });
}

/** The summary a failed sub-agent left in its failure's details (null for other failures). */
export function agentSummaryOf(err: unknown): AgentSummary | null {
  if (!(err instanceof ApplicationFailure)) return null;
  const d: unknown = err.details?.[0];
  if (d && typeof d === 'object' && 'agent' in d && d.agent && typeof d.agent === 'object')
    return d.agent as AgentSummary;
  return null;
}

/** What a sub-agent runs with, from the job's options. */
export function subagentInput(job: JobInput, subtask: Subtask, total: number, shared: SharedContextRef): SubagentInput {
  return {
    subtask,
    total,
    shared,
    model: job.workerModel ?? null,
    maxTokens: job.subtaskMaxTokens,
    maxTurns: job.maxTurns,
    maxAttempts: job.maxAttempts,
    heartbeatTimeoutSeconds: job.heartbeatTimeoutSeconds,
    turnTimeoutSeconds: job.subtaskTimeoutSeconds,
    toolTimeoutSeconds: job.subtaskTimeoutSeconds,
  };
}

/** The result document's sub-agent fields of a subtask. */
export function agentFields(agent: AgentSummary | undefined): Partial<SubtaskResult> {
  if (!agent) return {};
  return {
    turns: agent.turns,
    toolCalls: agent.toolCalls,
    ...(agent.transcriptRef ? { transcriptRef: agent.transcriptRef } : {}),
  };
}
