/**
 * renga's activities: every model call, clock read and file access of a job happens here.
 * Built by a factory so the worker injects one SDK client and config, and tests can point the
 * same code at the simulator.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { activityInfo, cancellationSignal } from '@temporalio/activity';
import type { ApplicationFailure } from '@temporalio/common';
import { failure } from '../shared/failures';
import { PLANNER_MAX_TOKENS, type PaidPlanningAttempt } from '../shared/planning';
import type { CallUsage } from '../shared/schemas';
import { createAgentActivities } from './agent';
import { attributionHeaders } from './attribution';
import { createBatchActivities } from './batches';
import { type Admission } from './admission';
import { type BlobStore } from './blob-store';
import { CallHandoffs } from './handoffs';
import { ConversationStore } from './conversation';
import { FailureType, classifyError } from './errors';
import { keepAlive } from './heartbeats';
import { inRoleLayout, requestLayout, sharedBlock } from './layout';
import { callModel, type ModelAnswer, type ModelCall } from './llm';
import { outputIssues } from './output-schema';
import { checkJobInput, type JobInputCheck } from './input-check';
import { writePlan } from './plan';
import * as prompts from './prompts';
import { createSpendActivities, withAllowance } from './spend';
import { SharedContextCache } from './shared-context-cache';
import { ToolRegistry } from './tools/registry';
import type {
  PlanInput,
  PlanOutput,
  ShareContextInput,
  ShareContextOutput,
  DeferredCall,
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
   * simulator can answer more, which the 10,000-subtask benchmark needs; a page of the plan holds
   * as many subtasks as the ceiling allows (shared/planning.ts).
   */
  planMaxTokens?: number;
  /** Tools sub-agents may call (TypeScript and MCP); default: the built-in TypeScript tools only. */
  tools?: ToolRegistry;
  /** Rate-limit admission shared by the worker's calls (activities/admission.ts); none: calls go at once. */
  admission?: Admission;
  /**
   * The worker's activity slots (maxConcurrentActivityTaskExecutions): a queued-ahead call never waits
   * in the last free one (activities/handoffs.ts). Undefined: not counted.
   */
  slots?: number;
}

const SYNTH_MAX_TOKENS = 8_192;

export function createActivities(deps: ActivityDeps) {
  const inlineLimit = deps.inlineContextLimit ?? 16_384;
  const sharedContexts = new SharedContextCache();
  const handoffs = new CallHandoffs(deps.slots);

  async function call(model: ModelCall): Promise<ModelAnswer> {
    const info = activityInfo();
    // Heartbeats on a timer only (activities/heartbeats.ts); a stalled stream is the idle watchdog's job.
    const stopHeartbeats = keepAlive();
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
      stopHeartbeats();
    }
  }

  async function loadShared(ref: SharedContextRef): Promise<string> {
    if (ref.kind === 'inline') return ref.text;
    const text = await sharedContexts.get(ref.key, ref.chars, () => deps.blobs.get(ref.key));
    if (text === null) {
      // Retryable: another worker that shares the blob store may pick the task up.
      throw failure(
        FailureType.ContextMissing,
        `job context ${ref.key} is not in the blob store ${deps.blobs.location}; workers must share RENGA_BLOB_DIR or RENGA_BLOB_URL`,
      );
    }
    return text;
  }

  /**
   * Every role's request (activities/layout.ts): one system prompt, the shared block, this call's
   * text and the role's instructions; a continuation or a repair adds turns after that.
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
  /** The job text and context as every call sends them: inline when small, else stored once in the blob store. */
  async function shareText(text: string): Promise<SharedContextRef> {
    return text.length > inlineLimit
      ? { kind: 'blob', key: await deps.blobs.put(text), chars: text.length }
      : { kind: 'inline', text };
  }

  /**
   * One model call for a subtask. The workflow reads how it ended (workflows/subtask-policy.ts):
   * a cut-off answer comes back here as a continuation (`prefill`, the text so far as the
   * assistant's turn), an answer that misses the job's output schema as a repair round.
   */
  async function runSubtaskCall(input: SubtaskInput): Promise<SubtaskOutput> {
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
      text: prompts.subtaskText(input.subtask, input.total) + (schema ? `\n\n${prompts.outputSchemaText(schema)}` : ''),
      after,
      maxTokens: input.maxTokens,
      ...(schema ? { outputFormat: { type: 'json_schema', schema } } : {}),
      ...(input.thinkingTokens ? { thinkingTokens: input.thinkingTokens } : {}),
    });
    // A continuation puts back the whitespace the prefill lost.
    const lost = input.prefill ? input.prefill.slice(input.prefill.trimEnd().length) : '';
    const text = lost && !/^\s/.test(answer.text) ? lost + answer.text : answer.text;
    const invalid =
      schema && answer.stopReason !== 'max_tokens' && answer.stopReason !== 'refusal'
        ? outputIssues(schema, text)
        : null;
    const ended = { stopReason: answer.stopReason, ...(invalid ? { invalid } : {}) };
    // Sharded jobs keep a preview in the history and the full text in the blob store, unless the
    // whole answer fits the preview: then the history holds all of it and nothing is written.
    if (input.previewChars === undefined || text.length <= input.previewChars) {
      return { output: text, call: answer.call, attempt, ...ended };
    }
    const outputRef = await deps.blobs.put(text);
    return { output: text.slice(0, input.previewChars), outputRef, call: answer.call, attempt, ...ended };
  }

  /** Sub-agents and batches mark the shared block for the worker model's cache minimum. */
  const workerSharedBlock = (text: string) => sharedBlock(text, deps.models.worker);

  return countedBy(handoffs, {
    // submitSubtaskBatch, checkSubtaskBatch, fetchSubtaskBatchResults, cancelSubtaskBatch (fanOut: 'batch-api').
    ...createBatchActivities(deps, { loadShared, sharedBlock }),
    // preflight: count_tokens of the shared prefix on each model, before anything is paid.
    ...createSpendActivities(deps),
    // resolveTools, agentTurn, callTool: sub-agents with tools (workflows/subagent.ts).
    ...createAgentActivities({
      store: new ConversationStore(deps.blobs),
      tools: deps.tools ?? ToolRegistry.of(),
      defaultModel: deps.models.worker,
      call,
      loadShared,
      sharedBlock: workerSharedBlock,
    }),
    /** A job's input check, as a local activity (activities/input-check.ts). */
    async checkJobInput(raw: unknown): Promise<JobInputCheck> {
      return checkJobInput(raw);
    },
    /** Ask the planner model for subtasks (activities/plan.ts: pages, trimming, bounded repair). */
    async planJob(input: PlanInput): Promise<PlanOutput> {
      // Earlier planJob activities of this job that failed after paying count as attempts too.
      const attempt = activityInfo().attempt + (input.priorAttempts ?? 0);
      const text = prompts.sharedText(input.job, input.context);
      const shared = await shareText(text);
      const model = input.model ?? deps.models.planner;
      // The one request layout (the planner's call writes the cache the synthesis reads), thinking
      // when asked for, and with a budget no call past the allowance the workflow reserved.
      const paid: CallUsage[] = [];
      const guarded = withAllowance(recordPaid(call, paid), {
        allowanceUsd: input.allowanceUsd,
        sharedTokens: input.sharedTokens,
        sharedChars: text.length,
      });
      const planCall = (c: ModelCall) =>
        guarded(
          inRoleLayout(
            { ...c, ...(input.thinkingTokens ? { thinkingTokens: input.thinkingTokens } : {}) },
            prompts.PLANNER_SYSTEM,
          ),
        );
      const { plan, calls } = await writePlan(
        {
          call: planCall,
          sharedBlock: (t) => sharedBlock(t, model),
          maxTokensCeiling: deps.planMaxTokens ?? PLANNER_MAX_TOKENS,
        },
        {
          sharedText: text,
          maxSubtasks: input.maxSubtasks,
          model,
          attempt,
          tools: input.tools ?? [],
        },
      ).catch((err: unknown) => {
        throw cancellationSignal().aborted ? err : withPaidCalls(classifyError(err, attempt, { model }), paid);
      });
      return { plan, shared, calls, attempt, models: deps.models };
    },

    /**
     * A redo job's shared context without planning (workflows/redo.ts): the same text and reference
     * the plan activity makes, so the redone calls send the original's prefix (and hit its cache).
     */
    async shareContext(input: ShareContextInput): Promise<ShareContextOutput> {
      return { shared: await shareText(prompts.sharedText(input.job, input.context)), models: deps.models };
    },

    /**
     * One model call for a subtask (runSubtaskCall). A queued-ahead call (`gate.after`) first waits
     * for the call it follows to end in this process, or hands itself back unmade (activities/handoffs.ts).
     */
    async runSubtask(input: SubtaskInput): Promise<SubtaskOutput | DeferredCall> {
      const gate = input.gate;
      if (!gate) return runSubtaskCall(input);
      const run = activityInfo().workflowExecution?.runId ?? activityInfo().activityId;
      const key = (call: number) => `${run}:${call}`;
      const ended = handoffs.begin(key(gate.call));
      let ok = false;
      try {
        if (gate.after !== undefined) {
          // Heartbeats while it waits, like a call; waits at most half its own time limit, so a long
          // predecessor cannot time it out before it has started.
          const stop = keepAlive();
          const maxWaitMs = activityInfo().startToCloseTimeoutMs / 2;
          const handoff = await handoffs.waitFor(key(gate.after), maxWaitMs, cancellationSignal()).finally(stop);
          if (cancellationSignal().aborted) throw cancellationSignal().reason;
          if (handoff !== 'go') return { deferred: true, ...(handoff === 'busy' ? { busy: true as const } : {}) };
        }
        const out = await runSubtaskCall(input);
        ok = true;
        return out;
      } finally {
        ended(ok);
      }
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
  });
}

export type RengaActivities = ReturnType<typeof createActivities>;

/** Every activity counted against the worker's slots while it runs (CallHandoffs.counted). */
function countedBy<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  handoffs: CallHandoffs,
  acts: T,
): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(acts)) {
    out[name] = (...args: never[]) => handoffs.counted(() => fn(...args));
  }
  return out as T;
}

/** Keeps every answered call's usage in `paid`, whatever happens to the attempt afterwards. */
function recordPaid(call: (c: ModelCall) => Promise<ModelAnswer>, paid: CallUsage[]) {
  return async (c: ModelCall): Promise<ModelAnswer> => {
    const answer = await call(c);
    paid.push(answer.call);
    return answer;
  };
}

/**
 * A planning attempt that failed after paying for calls: non-retryable for Temporal, so the
 * workflow sees the calls (in the last detail), counts them and retries itself (shared/planning.ts).
 * Type, message, cause and details stay the original's.
 */
function withPaidCalls(f: ApplicationFailure, paid: CallUsage[]): ApplicationFailure {
  if (paid.length === 0) return f;
  const detail: PaidPlanningAttempt = {
    paidPlanningCalls: paid,
    retryable: !f.nonRetryable,
    retryDelayMs: typeof f.nextRetryDelay === 'number' ? f.nextRetryDelay : null,
  };
  return failure(f.type ?? FailureType.Unexpected, f.message, {
    nonRetryable: true,
    cause: f.cause,
    details: [...(f.details ?? []), detail],
  });
}
