/**
 * Activities for the `batch-api` fan-out: submit a job's subtasks as one Message Batch, check it,
 * fetch its results page by page, cancel it. Each is a short call: the waiting in between is done
 * by durable workflow timers, so no activity slot is held while Anthropic processes the batch.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import type { MessageBatch } from '@anthropic-ai/sdk/resources/messages/batches';
import { activityInfo, heartbeat } from '@temporalio/activity';
import { attributionHeaders } from './attribution';
import { costUsd } from '../shared/pricing';
import type { CallUsage, Subtask } from '../shared/schemas';
import { classifyError } from './errors';
import { toTokenUsage } from './llm';
import * as prompts from './prompts';
import type { SharedContextRef } from './types';

export interface SubmitBatchInput {
  subtasks: Subtask[];
  /** Subtasks in the whole plan, for the prompt ("Subtask s3 of 12"). */
  total: number;
  shared: SharedContextRef;
  model: string | null;
  /** Routing (workflows/routing.ts): a subtask's own model, when it is not `model`. */
  models?: Record<string, string>;
  maxTokens: number;
}
export interface SubmitBatchOutput {
  batchId: string;
  count: number;
  expiresAt: string;
}

export interface BatchState {
  batchId: string;
  status: MessageBatch['processing_status'];
  counts: MessageBatch['request_counts'];
}

export interface FetchBatchResultsInput {
  batchId: string;
  /** Index in the results stream to start at (results of earlier pages are already in the history). */
  offset: number;
  /** Stop a page once its outputs reach this many characters, to stay far below the 2 MiB payload limit. */
  maxChars: number;
}
export type BatchItemResult =
  | { id: string; kind: 'succeeded'; output: string; call: CallUsage; stopReason?: string | null }
  | { id: string; kind: 'errored' | 'expired' | 'canceled'; error: string };
export interface FetchBatchResultsOutput {
  items: BatchItemResult[];
  /** Offset of the next page, or null when this page was the last. */
  next: number | null;
}

export interface BatchActivityDeps {
  anthropic: Anthropic;
  models: { worker: string };
}
export interface BatchActivityHelpers {
  loadShared(ref: SharedContextRef): Promise<string>;
  sharedBlock(text: string, model: string): TextBlockParam;
}

function stateOf(b: MessageBatch): BatchState {
  return { batchId: b.id, status: b.processing_status, counts: b.request_counts };
}

export function createBatchActivities(deps: BatchActivityDeps, helpers: BatchActivityHelpers) {
  /** Every Anthropic error goes through the same classification as direct calls. */
  async function api<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyError(err, activityInfo().attempt);
    }
  }

  return {
    /**
     * One Message Batch for a job's subtasks; custom_id is the subtask id. The prompts are the
     * direct path's, so a fallback call asks exactly the same question.
     */
    async submitSubtaskBatch(input: SubmitBatchInput): Promise<SubmitBatchOutput> {
      const shared = await helpers.loadShared(input.shared);
      const model = input.model ?? deps.models.worker;
      const batch = await api(() =>
        deps.anthropic.messages.batches.create(
          {
            requests: input.subtasks.map((subtask) => ({
              custom_id: subtask.id,
              params: {
                model: input.models?.[subtask.id] ?? model,
                max_tokens: input.maxTokens,
                // The direct path's layout (activities/layout.ts), so batch items share its cache prefix.
                system: prompts.SYSTEM,
                messages: [
                  {
                    role: 'user',
                    content: [
                      helpers.sharedBlock(shared, input.models?.[subtask.id] ?? model),
                      { type: 'text', text: prompts.subtaskText(subtask, input.total) },
                      { type: 'text', text: prompts.roleText(prompts.WORKER_SYSTEM) },
                    ],
                  },
                ],
              },
            })),
          },
          { headers: attributionHeaders() },
        ),
      );
      return { batchId: batch.id, count: input.subtasks.length, expiresAt: batch.expires_at };
    },

    async checkSubtaskBatch(input: { batchId: string }): Promise<BatchState> {
      return stateOf(
        await api(() =>
          deps.anthropic.messages.batches.retrieve(input.batchId, null, { headers: attributionHeaders() }),
        ),
      );
    },

    /** A page of results, streamed from the JSONL; outputs are priced at the batch discount. */
    async fetchSubtaskBatchResults(input: FetchBatchResultsInput): Promise<FetchBatchResultsOutput> {
      const items: BatchItemResult[] = [];
      let chars = 0;
      let index = 0;
      const decoder = await api(() =>
        deps.anthropic.messages.batches.results(input.batchId, {}, { headers: attributionHeaders() }),
      );
      try {
        for await (const line of decoder) {
          if (index++ < input.offset) continue;
          if (chars >= input.maxChars && items.length > 0) return { items, next: index - 1 };
          heartbeat();
          const r = line.result;
          if (r.type === 'succeeded') {
            const m = r.message;
            const output = m.content
              .filter((b): b is Anthropic.Messages.TextBlock => b.type === 'text')
              .map((b) => b.text)
              .join('');
            const usage = toTokenUsage(m.usage);
            items.push({
              id: line.custom_id,
              kind: 'succeeded',
              output,
              call: { model: m.model, usage, costUsd: costUsd(m.model, usage, { batch: true }) },
              stopReason: m.stop_reason,
            });
            chars += output.length;
          } else if (r.type === 'errored') {
            items.push({
              id: line.custom_id,
              kind: 'errored',
              error: `${r.error.error.type}: ${r.error.error.message}`,
            });
          } else {
            items.push({
              id: line.custom_id,
              kind: r.type,
              error: `the batch item ${r.type === 'expired' ? 'expired before it was processed' : 'was canceled'}`,
            });
          }
        }
      } catch (err) {
        throw classifyError(err, activityInfo().attempt);
      }
      return { items, next: null };
    },

    /** Best effort on job cancellation: items not yet processed are not billed. */
    async cancelSubtaskBatch(input: { batchId: string }): Promise<BatchState> {
      return stateOf(
        await api(() => deps.anthropic.messages.batches.cancel(input.batchId, null, { headers: attributionHeaders() })),
      );
    },
  };
}
