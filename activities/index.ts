/**
 * renga's activities: every model call, clock read and file access of a job happens here.
 * Built by a factory so the worker injects one SDK client and config, and tests can point the
 * same code at the simulator.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import type { MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { type z } from 'zod';
import { PlannerOutputSchema, describeZodError, type CallUsage, type Plan } from '../shared/schemas';
import { createBatchActivities } from './batches';
import { type Admission } from './admission';
import { type BlobStore } from './blob-store';
import { FailureType, ModelOutputError, classifyError } from './errors';
import { callModel, type ModelCall } from './llm';
import * as prompts from './prompts';
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
  /** Rate-limit admission shared by the worker's calls (activities/admission.ts); none: calls go at once. */
  admission?: Admission;
}

const PLAN_MAX_TOKENS = 8_192;
/** A plan spends ~30 tokens per subtask: leave room for that, up to the model's ceiling. */
const PLAN_TOKENS_PER_SUBTASK = 48;
const SYNTH_MAX_TOKENS = 8_192;

export function createActivities(deps: ActivityDeps) {
  const inlineLimit = deps.inlineContextLimit ?? 16_384;
  const cacheMinChars = deps.cacheMinChars ?? 16_384;

  async function call(model: ModelCall): Promise<{ text: string; call: CallUsage }> {
    const info = activityInfo();
    // Heartbeats on a timer only: before the first streamed byte there are no events, and one per
    // stream event would cross into the native core every few characters (measured: a large share
    // of the worker's CPU at zero latency). A stalled stream is the idle watchdog's job, not theirs.
    const every = Math.max(200, Math.min(1_000, Math.floor((info.heartbeatTimeoutMs ?? 30_000) / 3)));
    const ticker = setInterval(() => heartbeat(), every);
    try {
      const send = () => callModel(deps.anthropic, model, { idleMs: deps.streamIdleMs, signal: cancellationSignal() });
      const answer = await (deps.admission ? deps.admission.run(model, send) : send());
      return { text: answer.text, call: answer.call };
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
      // Retryable: another worker that shares the blob directory may pick the task up.
      throw ApplicationFailure.create({
        type: FailureType.ContextMissing,
        message: `job context ${ref.key} is not in the blob directory ${deps.blobs.dir}; workers must share RENGA_BLOB_DIR`,
      });
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
    /** Ask the planner model for subtasks; validate them, with one repair round before giving up. */
    async planJob(input: PlanInput): Promise<PlanOutput> {
      const attempt = activityInfo().attempt;
      const text = prompts.sharedText(input.job, input.context);
      const shared: SharedContextRef =
        text.length > inlineLimit
          ? { kind: 'blob', key: await deps.blobs.put(text), chars: text.length }
          : { kind: 'inline', text };

      const schema = PlannerOutputSchema.extend({
        subtasks: PlannerOutputSchema.shape.subtasks.max(input.maxSubtasks),
      });
      const format = zodOutputFormat(schema);
      const messages: MessageParam[] = [
        {
          role: 'user',
          content: [sharedBlock(text), { type: 'text', text: prompts.plannerUserText(input.maxSubtasks) }],
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
