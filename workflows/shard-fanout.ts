/**
 * Sharded fan-out for large plans, the parent's side. One workflow run cannot hold 10,000 subtasks:
 * Temporal ends a run past 51,200 history events (each subtask costs ~3 plus workflow tasks), allows
 * 2,000 pending activities, and one workflow task that schedules thousands of activities can exceed
 * the 4 MB gRPC limit. So a plan larger than `shardSize` runs as child workflows (workflows/shard.ts)
 * of `shardSize` subtasks each. This side starts them in lanes and writes each shard's summary to
 * the job's ledger; it keeps only the shard summaries of its own.
 */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { SharedContextRef, SynthesisPart } from '../activities/types';
import type { JobInput, ResultDocument, ShardSummary, Subtask } from '../shared/schemas';
import { inOrder, runLanes } from './lanes';
import type { SubtaskLedger } from './ledger';
import { shardWorkflow, type ShardOutput } from './shard';

/** Children running at once; the job's concurrency is split between them so the total stays C. */
const MAX_PARALLEL_SHARDS = 4;
/** Same budget as jobWorkflow's synthesis input, split between shards. */
const SYNTHESIS_BUDGET_CHARS = 400_000;
/** Entries of `subtasks` in a sharded job's result document (the rest are counted in `shards`). */
const MAX_LISTED_SUBTASKS = 1_000;

export class ShardedFanOut {
  private readonly shards: Subtask[][] = [];
  private readonly done = new Map<number, ShardOutput>();

  constructor(
    private readonly input: JobInput,
    private readonly shared: SharedContextRef,
    private readonly ledger: SubtaskLedger,
  ) {
    const subtasks = ledger.subtasks;
    for (let i = 0; i < subtasks.length; i += input.shardSize) this.shards.push(subtasks.slice(i, i + input.shardSize));
  }

  /** Runs every shard; a job-fatal failure in one (recorded in the ledger) stops starting new ones. */
  async run(): Promise<void> {
    const { input, ledger } = this;
    const parallel = Math.min(this.shards.length, input.concurrency, MAX_PARALLEL_SHARDS);
    // Split C between the parallel children so the job never has more than C calls in flight.
    const laneConcurrency = (lane: number) =>
      Math.floor(input.concurrency / parallel) + (lane < input.concurrency % parallel ? 1 : 0);
    const digestChars = Math.floor(SYNTHESIS_BUDGET_CHARS / this.shards.length);
    const previewChars = Math.min(1_000, Math.max(80, Math.floor(digestChars / input.shardSize)));
    const indexes = this.shards.map((_, i) => i);
    await runLanes(
      parallel,
      inOrder(indexes, () => ledger.fatal !== null),
      async (index, lane) => {
        const shard = this.shards[index] ?? [];
        for (const s of shard) ledger.start(s.id);
        const out = await executeChild(shardWorkflow, {
          workflowId: `${workflowInfo().workflowId}/shard-${index + 1}`,
          args: [
            {
              index,
              subtasks: shard,
              total: ledger.total,
              shared: this.shared,
              model: input.workerModel ?? null,
              maxTokens: input.subtaskMaxTokens,
              concurrency: laneConcurrency(lane),
              maxAttempts: input.maxAttempts,
              heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
              subtaskTimeoutSeconds: input.subtaskTimeoutSeconds,
              previewChars,
              digestChars,
              ...(input.queueAhead === false ? { queueAhead: false } : {}),
            },
          ],
        });
        this.record(shard, out);
      },
      { waitForAll: true },
    );
  }

  private record(shard: Subtask[], out: ShardOutput): void {
    this.done.set(out.index, out);
    this.ledger.addCalls(out.calls);
    const failed = new Set(out.failedIds);
    const skipped = new Set(out.skippedIds);
    for (const s of shard) {
      if (failed.has(s.id)) this.ledger.settle(s.id, 'failed', out.errors[s.id] ?? 'failed (see the shard results)');
      else this.ledger.settle(s.id, skipped.has(s.id) ? 'skipped' : 'completed', null);
    }
    if (out.fatal) this.ledger.stopJob(out.fatal);
  }

  /** One synthesis part per finished shard: its digest of previews, not 10,000 outputs. */
  synthesisParts(): SynthesisPart[] {
    return [...this.done.values()]
      .sort((a, b) => a.index - b.index)
      .map((out) => {
        const { first, last } = span(this.shards[out.index] ?? []);
        return { id: `shard-${out.index + 1}`, title: `subtasks ${first}–${last}`, output: out.digest, error: null };
      });
  }

  /**
   * The result document at shard scale: the same fields, but `plan` is null and `subtasks` lists only
   * those that did not complete; each shard's full results are in the blob store (`shards[].resultsRef`).
   */
  compact(doc: ResultDocument): ResultDocument {
    const shards: ShardSummary[] = this.shards.map((shard, index) => {
      const out = this.done.get(index);
      return {
        index,
        ...span(shard),
        completed: out?.completed ?? 0,
        failed: out?.failedIds.length ?? 0,
        skipped: out ? out.skippedIds.length : shard.length,
        resultsRef: out?.resultsRef ?? null,
      };
    });
    // Capped too: a job whose 10,000 subtasks all failed must still fit the result limit.
    return {
      ...doc,
      plan: null,
      subtasks: doc.subtasks.filter((s) => s.status !== 'completed').slice(0, MAX_LISTED_SUBTASKS),
      shards,
    };
  }
}

/** First and last subtask id of a shard (shards are never empty; '?' guards the type only). */
function span(shard: readonly Subtask[]): { first: string; last: string } {
  return { first: shard[0]?.id ?? '?', last: shard[shard.length - 1]?.id ?? '?' };
}
