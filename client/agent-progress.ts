/**
 * Live sub-agent progress for `renga watch` and `renga status`: each running sub-agent is a child workflow
 * of the job; its turn and tool calls come from its own query, so the job's history gains nothing per turn.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { agentProgressQuery, type AgentProgress } from '../workflows/subagent-definitions';
import type { RengaClient } from './api';

/** Running sub-agents by subtask id (a child that cannot answer right now is left out, not an error). */
export async function liveAgents(
  rc: RengaClient,
  workflowId: string,
  description: WorkflowExecutionDescription,
): Promise<Record<string, AgentProgress>> {
  const prefix = `${workflowId}--`;
  const children = (description.raw.pendingChildren ?? [])
    .map((c) => c.workflowId ?? '')
    .filter((id) => id.startsWith(prefix));
  const answers = await Promise.all(
    children.map((id) =>
      rc.client.workflow
        .getHandle(id)
        .query(agentProgressQuery)
        .catch(() => null),
    ),
  );
  const out: Record<string, AgentProgress> = {};
  for (const a of answers) if (a) out[a.subtaskId] = a;
  return out;
}

/** ` · turn 4 · 3 tool calls · calling mcp__fs__read_file` for a running sub-agent, `(5 turns, 4 tool calls)` once done. */
export function agentText(a: { turn?: number; turns?: number; toolCalls?: number; runningTools?: string[] }): string {
  if (a.turn !== undefined) {
    const calling = a.runningTools?.length ? ` · calling ${a.runningTools.join(', ')}` : '';
    return ` · turn ${a.turn} · ${a.toolCalls ?? 0} tool calls${calling}`;
  }
  if (a.turns === undefined) return '';
  return ` (${a.turns} turns, ${a.toolCalls ?? 0} tool calls)`;
}
