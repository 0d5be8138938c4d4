/**
 * renga's activities: every model call, clock read and file access of a job happens here.
 * Built by a factory so the worker injects one SDK client and config, and tests can point the
 * same code at the simulator.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { type z } from 'zod';
import { PlannerOutputSchema, describeZodError, type CallUsage, type Plan } from '../shared/schemas';
import { createBatchActivities } from './batches';
import { type BlobStore } from './blob-store';
import { FailureType, ModelOutputError, classifyError } from './errors';
import { requestLayout, sharedBlock } from './layout';
import { callModel, type ModelCall } from './llm';
import { outputIssues } from './output-schema';
import * as prompts from './prompts';
import { createSpendActivities } from './spend';
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
  /**
   * Ceiling on the planner's output tokens (default 64,000, Sonnet 4.x's maximum). Only the local
   * simulator can answer more, which the 10,000-subtask benchmark needs.
   */
  planMaxTokens?: number;
}

const PLAN_MAX_TOKENS = 8_192;
/** A plan spends ~30 tokens per subtask: leave room for that, up to the model's ceiling. */
const PLAN_TOKENS_PER_SUBTASK = 48;
export const SYNTH_MAX_TOKENS = 8_192;

/** The planner's output allowance for a plan of up to `maxSubtasks` (the budget reserves the same). */
export function planMaxTokens(maxSubtasks: number, ceiling = 64_000): number {
  return Math.min(ceiling, Math.max(PLAN_MAX_TOKENS, maxSubtasks * PLAN_TOKENS_PER_SUBTASK));
}

export function createActivities(deps: ActivityDeps) {
  const inlineLimit = deps.inlineContextLimit ?? 16_384;

  async function call(model: ModelCall): Promise<{ text: string; stopReason: string | null; call: CallUsage }> {
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
      return { text: answer.text, stopReason: answer.stopReason, call: answer.call };
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
      throw ApplicationFailure.create({
        type: FailureType.ContextMissing,
        message: `job context ${ref.key} is not in the blob store ${deps.blobs.location}; workers must share RENGA_BLOB_DIR or RENGA_BLOB_URL`,
      });
    }
    return text;
  }

  /**
   * Every role's request (activities/layout.ts): one system prompt, the shared block, the role's
   * instructions and this call's text; a continuation or a repair adds turns after that.
   */
  async function callAfterShared(
    ref: SharedContextRef,
    c: {
      model: string;
      role: string;
      text: string;
      maxTokens: number;
      after?: MessageParam[];
      outputFormat?: ModelCall['outputFormat'];
      thinkingTokens?: number;
    },
  ): Promise<{ text: string; stopReason: string | null; call: CallUsage }> {
    const layout = requestLayout(await loadShared(ref), c.model, c.text, c.role);
    return call({
      model: c.model,
      system: layout.system,
      messages: [...layout.messages, ...(c.after ?? [])],
      maxTokens: c.maxTokens,
      ...(c.outputFormat ? { outputFormat: c.outputFormat } : {}),
      ...(c.thinkingTokens ? { thinkingTokens: c.thinkingTokens } : {}),
    });
  }

  return {
    // submitSubtaskBatch, checkSubtaskBatch, fetchSubtaskBatchResults, cancelSubtaskBatch (fanOut: 'batch-api').
    ...createBatchActivities(deps, { loadShared, sharedBlock }),
    // preflight: count_tokens of the shared prefix on each model, before anything is paid.
    ...createSpendActivities(deps),
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
      const model = input.model ?? deps.models.planner;
      const after: MessageParam[] = [];
      const calls: CallUsage[] = [];
      let issues = '';
      // A budget may allow only one round (workflows/budget.ts reserves for what it allows).
      const rounds = input.maxRounds ?? 2;
      for (let round = 0; round < rounds; round++) {
        const answer = await callAfterShared(shared, {
          model,
          role: prompts.PLANNER_SYSTEM,
          text: prompts.plannerUserText(input.maxSubtasks),
          after,
          maxTokens: planMaxTokens(input.maxSubtasks, deps.planMaxTokens),
          outputFormat: { type: 'json_schema', schema: format.schema },
          ...(input.thinkingTokens ? { thinkingTokens: input.thinkingTokens } : {}),
        });
        calls.push(answer.call);
        const parsed = parseJson(answer.text, schema);
        if (parsed.ok) {
          const plan: Plan = {
            subtasks: parsed.value.subtasks.map((s, i) => ({
              id: `s${i + 1}`,
              title: s.title.length > 80 ? `${s.title.slice(0, 77)}…` : s.title,
              instructions: s.instructions,
              kind: s.kind,
              tier: s.tier,
              tierReason: s.tierReason,
            })),
          };
          return { plan, shared, calls, attempt, models: deps.models };
        }
        issues = parsed.issues;
        after.push({ role: 'assistant', content: answer.text }, { role: 'user', content: prompts.repairText(issues) });
      }
      // Retryable as a whole: a fresh attempt samples a fresh plan. The retry policy bounds it.
      throw classifyError(
        new ModelOutputError(`the planner's plan is invalid after ${rounds - 1} repair attempt(s): ${issues}`),
        attempt,
      );
    },

    /**
     * One model call for a subtask. The workflow reads how it ended (workflows/subtask-policy.ts):
     * a cut-off answer comes back here as a continuation (`prefill`, the text so far as the
     * assistant's turn), an answer that misses the job's output schema as a repair round.
     */
    async runSubtask(input: SubtaskInput): Promise<SubtaskOutput> {
      const attempt = activityInfo().attempt;
      const schema = input.outputSchema;
      const after: MessageParam[] = [];
      if (input.repair) {
        after.push(
          { role: 'assistant', content: input.repair.previous },
          { role: 'user', content: prompts.subtaskRepairText(input.subtask, input.total, input.repair.issues) },
        );
      }
      // The API refuses an assistant turn that ends in whitespace.
      if (input.prefill) after.push({ role: 'assistant', content: input.prefill.trimEnd() });
      const answer = await callAfterShared(input.shared, {
        model: input.model ?? deps.models.worker,
        role: prompts.WORKER_SYSTEM,
        text:
          prompts.subtaskText(input.subtask, input.total) + (schema ? `\n\n${prompts.outputSchemaText(schema)}` : ''),
        after,
        maxTokens: input.maxTokens,
        ...(schema ? { outputFormat: { type: 'json_schema', schema } } : {}),
        ...(input.thinkingTokens ? { thinkingTokens: input.thinkingTokens } : {}),
      });
      // A continuation re-adds the whitespace the prefill lost.
      const text =
        input.prefill && input.prefill !== input.prefill.trimEnd() && !/^\s/.test(answer.text)
          ? input.prefill.slice(input.prefill.trimEnd().length) + answer.text
          : answer.text;
      const invalid =
        schema && answer.stopReason !== 'max_tokens' && answer.stopReason !== 'refusal'
          ? outputIssues(schema, text)
          : null;
      const ended = { stopReason: answer.stopReason, ...(invalid ? { invalid } : {}) };
      if (input.previewChars === undefined) return { output: text, call: answer.call, attempt, ...ended };
      const outputRef = await deps.blobs.put(text);
      return { output: text.slice(0, input.previewChars), outputRef, call: answer.call, attempt, ...ended };
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
        role: prompts.SYNTHESIZER_SYSTEM,
        text: prompts.synthesisText(input.parts, input.partial),
        maxTokens: input.maxTokens ?? SYNTH_MAX_TOKENS,
        ...(input.thinkingTokens ? { thinkingTokens: input.thinkingTokens } : {}),
      });
      return { answer: answer.text, call: answer.call, attempt, stopReason: answer.stopReason };
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
