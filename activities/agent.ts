/**
 * Sub-agent activities: each model turn is one activity (`agentTurn`) and each tool call another
 * (`callTool`), so a worker killed at turn k resumes at turn k and no finished turn or tool call runs
 * again. Both pass the conversation by reference (activities/conversation.ts). The loop itself is
 * workflows/subagent.ts.
 */
import type {
  ContentBlockParam,
  MessageParam,
  TextBlockParam,
  Tool,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import { activityInfo, cancellationSignal } from '@temporalio/activity';
import { keepAlive } from './heartbeats';
import { ApplicationFailure } from '@temporalio/common';
import { AGENT_SYSTEM, summarise } from './agent-prompts';
import type {
  AgentTurnInput,
  AgentTurnOutput,
  ResolveToolsInput,
  ToolCallInput,
  ToolCallOutput,
  ToolSummary,
} from './agent-types';
import type { ConversationStore, Transcript } from './conversation';
import type { ModelAnswer, ModelCall } from './llm';
import * as prompts from './prompts';
import { ToolUnavailableError } from './tools/mcp';
import type { ToolRegistry } from './tools/registry';
import type { SharedContextRef } from './types';
import { MAX_TOOL_RESULT_CHARS } from '../shared/limits';

export interface AgentDeps {
  store: ConversationStore;
  tools: ToolRegistry;
  defaultModel: string;
  /** The model call with heartbeats and error classification (activities/index.ts). */
  call(model: ModelCall): Promise<ModelAnswer>;
  loadShared(ref: SharedContextRef): Promise<string>;
  sharedBlock(text: string): TextBlockParam;
}

export function createAgentActivities(deps: AgentDeps) {
  return {
    /** Before planning: the tools a job names, or UnknownTool naming every pattern no tool matches. */
    async resolveTools(input: ResolveToolsInput): Promise<ToolSummary[]> {
      const { tools, unknown } = deps.tools.resolve(input.patterns);
      if (unknown.length > 0) {
        const offered = deps.tools.list().map((t) => t.name);
        throw ApplicationFailure.create({
          type: 'UnknownTool',
          nonRetryable: true,
          message: `no tool on this worker matches ${unknown.join(', ')} (offered: ${offered.join(', ') || 'none'})`,
        });
      }
      return tools.map((t) => summarise(t.name, t.description));
    },

    /** One model turn: tool results of the previous turn in, the model's answer or tool requests out. */
    async agentTurn(input: AgentTurnInput): Promise<AgentTurnOutput> {
      const attempt = activityInfo().attempt;
      const transcript = await startOrLoad(deps, input);
      if (input.toolResults.length > 0) {
        const content: ToolResultBlockParam[] = await Promise.all(
          input.toolResults.map(async (r) => ({
            type: 'tool_result' as const,
            tool_use_id: r.toolUseId,
            content: await deps.store.getText(r.resultRef),
            ...(r.isError ? { is_error: true } : {}),
          })),
        );
        transcript.messages.push({ role: 'user', content });
      }
      const tools: Tool[] = input.tools.flatMap((name) => {
        const info = deps.tools.info(name);
        return info
          ? [{ name, description: info.description, input_schema: info.inputSchema as Tool['input_schema'] }]
          : [];
      });
      const answer = await deps.call({
        model: input.model ?? deps.defaultModel,
        system: transcript.system,
        messages: withMovingBreakpoint(transcript.messages),
        maxTokens: input.maxTokens,
        tools,
      });
      const content: ContentBlockParam[] = [];
      for (const b of answer.content) {
        if (b.type === 'text' && b.text) content.push({ type: 'text', text: b.text });
        if (b.type === 'tool_use') content.push({ type: 'tool_use', id: b.id, name: b.name, input: b.input });
      }
      if (content.length === 0) content.push({ type: 'text', text: '(no answer)' });
      transcript.messages.push({ role: 'assistant', content });
      const toolUses = answer.content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, name: b.name }] : []));
      transcript.turns.push({
        turn: input.turn,
        model: answer.call.model,
        usage: answer.call.usage,
        costUsd: answer.call.costUsd,
        stopReason: answer.stopReason,
        toolUses: toolUses.map((t) => t.name),
      });
      return {
        conversationRef: await deps.store.put(transcript),
        stopReason: answer.stopReason,
        text: toolUses.length > 0 ? null : answer.text,
        toolUses,
        call: answer.call,
        attempt,
      };
    },

    /**
     * One tool call. The tool's own errors come back as an `is_error` result for the model to read;
     * a server that is down or hung fails the activity, which Temporal retries (after a restart).
     */
    async callTool(input: ToolCallInput): Promise<ToolCallOutput> {
      const info = activityInfo();
      const transcript = await deps.store.get(input.conversationRef);
      const request = findToolUse(transcript, input.toolUse.id);
      const stopHeartbeats = keepAlive();
      const started = Date.now();
      let outcome: { text: string; isError: boolean };
      try {
        outcome = request
          ? await deps.tools.call(input.toolUse.name, request.input, {
              signal: cancellationSignal(),
              timeoutMs: Math.max(1_000, (info.startToCloseTimeoutMs ?? 300_000) - 1_000),
            })
          : { text: `no tool request ${input.toolUse.id} in the conversation`, isError: true };
      } catch (err) {
        if (cancellationSignal().aborted) throw err;
        throw ApplicationFailure.create({
          type: err instanceof ToolUnavailableError ? 'ToolUnavailable' : 'ToolFailed',
          message: err instanceof Error ? err.message : String(err),
          cause: err instanceof Error ? err : undefined,
        });
      } finally {
        stopHeartbeats();
      }
      const ms = Date.now() - started;
      const text =
        outcome.text.length > MAX_TOOL_RESULT_CHARS
          ? `${outcome.text.slice(0, MAX_TOOL_RESULT_CHARS)}\n[…cut at ${MAX_TOOL_RESULT_CHARS} of ${outcome.text.length} characters]`
          : outcome.text || '(no output)';
      return {
        toolUseId: input.toolUse.id,
        name: input.toolUse.name,
        resultRef: await deps.store.putText(text),
        isError: outcome.isError,
        ms,
        chars: outcome.text.length,
      };
    },
  };
}

async function startOrLoad(deps: AgentDeps, input: AgentTurnInput): Promise<Transcript> {
  if (input.conversationRef) return deps.store.get(input.conversationRef);
  if (!input.start) throw ApplicationFailure.nonRetryable('a first turn needs the subtask', 'InvalidInput');
  const shared = await deps.loadShared(input.start.shared);
  return {
    subtaskId: input.subtaskId,
    system: AGENT_SYSTEM,
    tools: input.tools,
    messages: [
      {
        role: 'user',
        content: [
          deps.sharedBlock(shared),
          { type: 'text', text: prompts.subtaskText(input.start.subtask, input.start.total) },
        ],
      },
    ],
    turns: [],
  };
}

/**
 * The standard moving breakpoint: the last block of the conversation is marked for caching, so turn k
 * reads turns 1…k-1 from the cache and writes only what is new. Only the request carries the mark.
 */
function withMovingBreakpoint(messages: MessageParam[]): MessageParam[] {
  const last = messages[messages.length - 1];
  if (!last || last.role === 'system') return messages;
  const blocks: ContentBlockParam[] =
    typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : [...last.content];
  const tail = blocks[blocks.length - 1];
  if (tail && tail.type !== 'thinking' && tail.type !== 'redacted_thinking') {
    blocks[blocks.length - 1] = { ...tail, cache_control: { type: 'ephemeral' } } as ContentBlockParam;
  }
  return [...messages.slice(0, -1), { role: last.role, content: blocks } as MessageParam];
}

function findToolUse(t: Transcript, id: string): { input: unknown } | null {
  for (let i = t.messages.length - 1; i >= 0; i--) {
    const m = t.messages[i]!;
    if (m.role !== 'assistant' || typeof m.content === 'string') continue;
    for (const b of m.content) if (b.type === 'tool_use' && b.id === id) return { input: b.input };
  }
  return null;
}
