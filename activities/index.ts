/**
 * renga's activities: every model call, clock read and file access of a job happens here.
 * Built by a factory so the worker injects one SDK client and config, and tests can point the
 * same code at the simulator.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import type { MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { z } from 'zod';
import { failure } from '../shared/failures';
import { PlannerOutputSchema, describeZodError, type CallUsage, type Plan } from '../shared/schemas';
import { createAgentActivities } from './agent';
import { plannedTools, plannerToolsText } from './agent-prompts';
import type { ToolSummary } from './agent-types';
import { createBatchActivities } from './batches';
import { type BlobStore } from './blob-store';
import { ConversationStore } from './conversation';
import { FailureType, ModelOutputError, classifyError } from './errors';
import { callModel, type ModelAnswer, type ModelCall } from './llm';
import * as prompts from './prompts';
import { ToolRegistry } from './tools/registry';
import type {
  PlanInput,
  PlanOutput,
  SharedContextRef,
  SubtaskInput,
  SubtaskOutput,
  SynthesizeInput,
  SynthesizeOutput,
} from './types';

export interface ActivityDeps {
  anthropic: Anthropic;
  blobs: BlobStore;
  /** Used when a job names no model of its own. */
  models: { planner: string; worker: string };
  /** Abandon a model stream after this long without an event. */
  streamIdleMs: number;
  /** Shared context longer than this goes to the blob store instead of every subtask's input. */
  inlineContextLimit?: number;
  /** Anthropic caches a prefix only from about 1–4 K tokens on; below that a cache marker only costs. */
  cacheMinChars?: number;
  /**
   * Ceiling on the planner's output tokens (default 64,000, Sonnet 4.x's maximum). Only the local
   * simulator can answer more, which the 10,000-subtask benchmark needs.
   */
  planMaxTokens?: number;
  /** Tools sub-agents may call (TypeScript and MCP); default: the built-in TypeScript tools only. */
  tools?: ToolRegistry;
}

const PLAN_MAX_TOKENS = 8_192;
/** A plan spends ~30 tokens per subtask: leave room for that, up to the model's ceiling. */
const PLAN_TOKENS_PER_SUBTASK = 48;
const SYNTH_MAX_TOKENS = 8_192;

export function createActivities(deps: ActivityDeps) {
  const inlineLimit = deps.inlineContextLimit ?? 16_384;
  const cacheMinChars = deps.cacheMinChars ?? 16_384;

  async function call(model: ModelCall): Promise<ModelAnswer> {
    const info = activityInfo();
    // Heartbeats on a timer only: before the first streamed byte there are no events, and one per
    // stream event would cross into the native core every few characters (measured: a large share
    // of the worker's CPU at zero latency). A stalled stream is the idle watchdog's job, not theirs.
    const every = Math.max(200, Math.min(1_000, Math.floor((info.heartbeatTimeoutMs ?? 30_000) / 3)));
    const ticker = setInterval(() => heartbeat(), every);
    try {
      const answer = await callModel(deps.anthropic, model, {
        idleMs: deps.streamIdleMs,
        signal: cancellationSignal(),
      });
      return answer;
    } catch (err) {
      if (cancellationSignal().aborted) throw err;
      throw classifyError(err, info.attempt, { model: model.model });
    } finally {
      clearInterval(ticker);
    }
  }

  async function loadShared(ref: SharedContextRef): Promise<string> {
    if (ref.kind === 'inline') return ref.text;
    const text = await deps.blobs.get(ref.key);
    if (text === null) {
      // Retryable: another worker that shares the blob store may pick the task up.
      throw failure(
        FailureType.ContextMissing,
        `job context ${ref.key} is not in the blob store ${deps.blobs.location}; workers must share RENGA_BLOB_DIR or RENGA_BLOB_URL`,
      );
    }
    return text;
  }

  /** The shared prefix as a system-adjacent user block, marked for prompt caching when it is big enough. */
  function sharedBlock(text: string): TextBlockParam {
    return text.length >= cacheMinChars
      ? { type: 'text', text, cache_control: { type: 'ephemeral' } }
      : { type: 'text', text };
  }

  /** One user turn: the job's shared prefix (cacheable across its calls), then this call's own text. */
  async function callAfterShared(
    ref: SharedContextRef,
    c: { model: string; system: string; text: string; maxTokens: number },
  ): Promise<{ text: string; call: CallUsage }> {
    const shared = await loadShared(ref);
    return call({
      model: c.model,
      system: c.system,
      messages: [{ role: 'user', content: [sharedBlock(shared), { type: 'text', text: c.text }] }],
      maxTokens: c.maxTokens,
    });
  }

  return {
    // submitSubtaskBatch, checkSubtaskBatch, fetchSubtaskBatchResults, cancelSubtaskBatch (fanOut: 'batch-api').
    ...createBatchActivities(deps, { loadShared, sharedBlock }),
    // resolveTools, agentTurn, callTool: sub-agents with tools (workflows/subagent.ts).
    ...createAgentActivities({
      store: new ConversationStore(deps.blobs),
      tools: deps.tools ?? ToolRegistry.of(),
      defaultModel: deps.models.worker,
      call,
      loadShared,
      sharedBlock,
    }),
    /** Ask the planner model for subtasks; validate them, with one repair round before giving up. */
    async planJob(input: PlanInput): Promise<PlanOutput> {
      const attempt = activityInfo().attempt;
      const text = prompts.sharedText(input.job, input.context);
      const shared: SharedContextRef =
        text.length > inlineLimit
          ? { kind: 'blob', key: await deps.blobs.put(text), chars: text.length }
          : { kind: 'inline', text };

      const schema = plannerSchema(input.maxSubtasks, input.tools ?? []);
      const format = zodOutputFormat(schema);
      const messages: MessageParam[] = [
        {
          role: 'user',
          content: [
            sharedBlock(text),
            {
              type: 'text',
              text: `${prompts.plannerUserText(input.maxSubtasks)}${input.tools?.length ? `\n\n${plannerToolsText(input.tools)}` : ''}`,
            },
          ],
        },
      ];
      const calls: CallUsage[] = [];
      let issues = '';
      for (let round = 0; round < 2; round++) {
        const answer = await call({
          model: input.model ?? deps.models.planner,
          system: prompts.PLANNER_SYSTEM,
          messages,
          maxTokens: Math.min(
            deps.planMaxTokens ?? 64_000,
            Math.max(PLAN_MAX_TOKENS, input.maxSubtasks * PLAN_TOKENS_PER_SUBTASK),
          ),
          outputFormat: { type: 'json_schema', schema: format.schema },
        });
        calls.push(answer.call);
        const parsed = parseJson(answer.text, schema);
        if (parsed.ok) {
          const plan: Plan = {
            subtasks: parsed.value.subtasks.map((s, i) => ({
              id: `s${i + 1}`,
              title: s.title.length > 80 ? `${s.title.slice(0, 77)}…` : s.title,
              instructions: s.instructions,
              ...(input.tools?.length ? { tools: plannedTools(s.tools, input.tools) } : {}),
            })),
          };
          return { plan, shared, calls, attempt };
        }
        issues = parsed.issues;
        messages.push(
          { role: 'assistant', content: answer.text },
          { role: 'user', content: prompts.repairText(issues) },
        );
      }
      // Retryable as a whole: a fresh attempt samples a fresh plan. The retry policy bounds it.
      throw classifyError(
        new ModelOutputError(`the planner's plan is invalid after a repair attempt: ${issues}`),
        attempt,
      );
    },

    /** One subtask on the worker model, streamed with heartbeats. */
    async runSubtask(input: SubtaskInput): Promise<SubtaskOutput> {
      const attempt = activityInfo().attempt;
      const answer = await callAfterShared(input.shared, {
        model: input.model ?? deps.models.worker,
        system: prompts.WORKER_SYSTEM,
        text: prompts.subtaskText(input.subtask, input.total),
        maxTokens: input.maxTokens,
      });
      if (input.previewChars === undefined) return { output: answer.text, call: answer.call, attempt };
      const outputRef = await deps.blobs.put(answer.text);
      return { output: answer.text.slice(0, input.previewChars), outputRef, call: answer.call, attempt };
    },

    /** Stores a document (a shard's per-subtask results) and returns its key; idempotent, so retry-safe. */
    async storeBlob(content: string): Promise<string> {
      return deps.blobs.put(content);
    },

    /** Combine the subtask results into the final answer on the planner model. */
    async synthesize(input: SynthesizeInput): Promise<SynthesizeOutput> {
      const attempt = activityInfo().attempt;
      const answer = await callAfterShared(input.shared, {
        model: input.model ?? deps.models.planner,
        system: prompts.SYNTHESIZER_SYSTEM,
        text: prompts.synthesisText(input.parts, input.partial),
        maxTokens: SYNTH_MAX_TOKENS,
      });
      return { answer: answer.text, call: answer.call, attempt };
    },
  };
}

export type RengaActivities = ReturnType<typeof createActivities>;

type PlannedSubtasks = { subtasks: { title: string; instructions: string; tools?: string[] }[] };

/**
 * The plan's schema. With tools, each subtask may name some, constrained to an enum of the offered
 * names so structured output cannot invent one.
 */
function plannerSchema(maxSubtasks: number, tools: ToolSummary[]): z.ZodType<PlannedSubtasks> {
  const item = PlannerOutputSchema.shape.subtasks.element;
  const [first, ...rest] = tools.map((t) => t.name);
  if (first === undefined) return z.object({ subtasks: z.array(item).min(1).max(maxSubtasks) });
  const withTools = item.extend({
    tools: z
      .array(z.enum([first, ...rest]))
      .optional()
      .describe('the tools this subtask needs; [] for none; leave out for all'),
  });
  return z.object({ subtasks: z.array(withTools).min(1).max(maxSubtasks) });
}

function parseJson<T>(text: string, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; issues: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: `not valid JSON (${(err as Error).message})` };
  }
  const result = schema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: describeZodError(result.error) };
}
