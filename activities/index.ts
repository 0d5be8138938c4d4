/**
 * renga's activities: every model call, clock read and file access of a job happens here.
 * Built by a factory so the worker injects one SDK client and config, and tests can point the
 * same code at the simulator.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { failure } from '../shared/failures';
import type { CallUsage } from '../shared/schemas';
import { createAgentActivities } from './agent';
import { attributionHeaders } from './attribution';
import { createBatchActivities } from './batches';
import { type Admission } from './admission';
import { type BlobStore } from './blob-store';
import { ConversationStore } from './conversation';
import { FailureType, classifyError } from './errors';
import { callModel, type ModelAnswer, type ModelCall } from './llm';
import { writePlan } from './plan';
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
  /** Rate-limit admission shared by the worker's calls (activities/admission.ts); none: calls go at once. */
  admission?: Admission;
}

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
      const send = () =>
        callModel(deps.anthropic, model, {
          idleMs: deps.streamIdleMs,
          signal: cancellationSignal(),
          headers: attributionHeaders(),
        });
      return await (deps.admission ? deps.admission.run(model, send) : send());
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
    /** Ask the planner model for subtasks (activities/plan.ts: pages, trimming, bounded repair). */
    async planJob(input: PlanInput): Promise<PlanOutput> {
      const attempt = activityInfo().attempt;
      const text = prompts.sharedText(input.job, input.context);
      const shared: SharedContextRef =
        text.length > inlineLimit
          ? { kind: 'blob', key: await deps.blobs.put(text), chars: text.length }
          : { kind: 'inline', text };
      const { plan, calls } = await writePlan(
        { call, sharedBlock, maxTokensCeiling: deps.planMaxTokens ?? 64_000 },
        {
          sharedText: text,
          maxSubtasks: input.maxSubtasks,
          model: input.model ?? deps.models.planner,
          attempt,
          tools: input.tools ?? [],
        },
      );
      return { plan, shared, calls, attempt };
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
