/**
 * Sharded fan-out for large plans. One workflow run cannot hold 10,000 subtasks: Temporal ends a
 * run past 51,200 history events (each subtask costs ~3 plus workflow tasks), allows 2,000 pending
 * activities, and one workflow task that schedules thousands of activities can exceed the 4 MB
 * gRPC limit. So a plan larger than `shardSize` runs as child workflows of `shardSize` subtasks
 * each, every child running the same bounded lanes as jobWorkflow. Outputs go to the blob store
 * (the activity returns a short preview and a key), and each child returns only counts, usage per
 * model, failures and a digest for synthesis — so the parent's history and result stay small.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  proxyActivities,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { SharedContextRef, SynthesisPart } from '../activities/types';
import { ZERO_USAGE, addUsage, roundUsd } from '../shared/pricing';
import type {
  CallUsage,
  JobInput,
  ResultDocument,
  ShardSummary,
  Subtask,
  SubtaskResult,
  SubtaskState,
} from '../shared/schemas';
import { attemptOf, describeFailure } from './failures';

/** Children running at once; the job's concurrency is split between them so the total stays C. */
const MAX_PARALLEL_SHARDS = 4;
/** Same budget as jobWorkflow's synthesis input, split between shards. */
const SYNTHESIS_BUDGET_CHARS = 400_000;
/** Failures reported back with their error text per shard; the rest are in the shard's results blob. */
const MAX_ERRORS_PER_SHARD = 20;
/** Entries of `subtasks` in a sharded job's result document (the rest are counted in `shards`). */
const MAX_LISTED_SUBTASKS = 1_000;
/** Types that mean every other call would fail the same way (as in jobWorkflow). */
const FATAL_FOR_JOB = new Set(['ModelNotFound', 'AuthenticationFailed', 'PermissionDenied']);

export interface ShardInput {
  index: number;
  subtasks: Subtask[];
  /** Subtasks in the whole job (the prompt says "Subtask s17 of 10000"). */
  total: number;
  shared: SharedContextRef;
  model: string | null;
  maxTokens: number;
  concurrency: number;
  maxAttempts: number;
  heartbeatTimeoutSeconds: number;
  subtaskTimeoutSeconds: number;
  /** Characters of each output kept in the history (the rest is in the blob store). */
  previewChars: number;
  /** Characters of this shard's digest handed to synthesis. */
  digestChars: number;
}

export interface ShardOutput {
  index: number;
  completed: number;
  failedIds: string[];
  skippedIds: string[];
  /** Error text of the first failures. */
  errors: Record<string, string>;
  /** One entry per model, usage summed over the shard's calls. */
  calls: CallUsage[];
  /** Key of the JSON array of this shard's SubtaskResults (with titles and instructions) in the blob store. */
  resultsRef: string | null;
  /** `[id] title: preview` lines of the completed subtasks, within `digestChars`. */
  digest: string;
  fatal: { type: string; message: string } | null;
}

/** Child workflow: runs one shard of a plan with bounded lanes; registered next to jobWorkflow. */
export async function shardWorkflow(input: ShardInput): Promise<ShardOutput> {
  const retry: RetryPolicy = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '60s',
    maximumAttempts: input.maxAttempts,
  };
  const acts = proxyActivities<RengaActivities>({
    startToCloseTimeout: `${input.subtaskTimeoutSeconds}s`,
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
    retry,
  });
  const store = proxyActivities<RengaActivities>({ startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 10 } });

  const results = new Map<string, SubtaskResult>();
  const calls = new Map<string, CallUsage>();
  let fatal: ShardOutput['fatal'] = null;
  const work = new CancellationScope();

  const runOne = async (subtask: Subtask): Promise<void> => {
    try {
      const out = await acts.runSubtask({
        subtask,
        total: input.total,
        shared: input.shared,
        model: input.model,
        maxTokens: input.maxTokens,
        previewChars: input.previewChars,
      });
      results.set(subtask.id, {
        id: subtask.id,
        status: 'completed',
        output: out.output,
        ...(out.outputRef ? { outputRef: out.outputRef } : {}),
        model: out.call.model,
        attempts: out.attempt,
        usage: out.call.usage,
        error: null,
      });
      const sum = calls.get(out.call.model) ?? { model: out.call.model, usage: { ...ZERO_USAGE }, costUsd: 0 };
      calls.set(out.call.model, {
        model: sum.model,
        usage: addUsage(sum.usage, out.call.usage),
        costUsd: roundUsd(sum.costUsd + out.call.costUsd),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      results.set(subtask.id, {
        id: subtask.id,
        status: 'failed',
        output: null,
        model: input.model ?? 'default',
        attempts: attemptOf(cause) ?? input.maxAttempts,
        usage: { ...ZERO_USAGE },
        error: describeFailure(cause),
      });
      if (cause instanceof ApplicationFailure && cause.type && FATAL_FOR_JOB.has(cause.type) && !fatal) {
        fatal = { type: cause.type, message: `subtask ${subtask.id} failed: ${cause.message}` };
        work.cancel();
      }
    }
  };

  let next = 0;
  const lane = async () => {
    for (let s = input.subtasks[next]; s !== undefined && !fatal; s = input.subtasks[next]) {
      next++;
      await runOne(s);
    }
  };
  try {
    await work.run(() => Promise.all(Array.from({ length: Math.min(input.concurrency, input.subtasks.length) }, lane)));
  } catch (err) {
    // Our own cancel after a fatal failure, or the parent's cancel: either way the shard stores and
    // returns what finished (the parent waits for it), so a cancelled job keeps every output.
    if (!isCancellation(err)) throw err;
  }

  const full = input.subtasks.map((s) => ({
    title: s.title,
    instructions: s.instructions,
    ...(results.get(s.id) ?? {
      id: s.id,
      status: 'skipped' as const,
      output: null,
      model: input.model ?? 'default',
      attempts: 0,
      usage: { ...ZERO_USAGE },
      error: null,
    }),
  }));
  // Not cancellable: after a cancel this is what keeps the finished outputs.
  const resultsRef = await CancellationScope.nonCancellable(() => store.storeBlob(JSON.stringify(full)));

  const errors: Record<string, string> = {};
  for (const r of full) {
    if (r.error && Object.keys(errors).length < MAX_ERRORS_PER_SHARD) errors[r.id] = r.error;
  }
  let digest = '';
  for (const r of full) {
    if (r.status !== 'completed') continue;
    const line = `[${r.id}] ${r.title}: ${r.output ?? ''}\n`;
    if (digest.length + line.length > input.digestChars) break;
    digest += line;
  }
  return {
    index: input.index,
    completed: full.filter((r) => r.status === 'completed').length,
    failedIds: full.filter((r) => r.status === 'failed').map((r) => r.id),
    skippedIds: full.filter((r) => r.status === 'skipped').map((r) => r.id),
    errors,
    calls: [...calls.values()],
    resultsRef,
    digest,
    fatal,
  };
}

/** The parent's side, driven from JobRun.fanOut when the plan is larger than `shardSize`. */
export interface ParentTrack {
  state: SubtaskState;
  attempts: number;
  error: string | null;
}

export class ShardedFanOut {
  private readonly shards: Subtask[][] = [];
  private readonly done = new Map<number, ShardOutput>();
  private fatal: ShardOutput['fatal'] = null;

  constructor(
    private readonly input: JobInput,
    private readonly subtasks: Subtask[],
    private readonly shared: SharedContextRef,
    private readonly tracks: Map<string, ParentTrack>,
    private readonly calls: CallUsage[],
  ) {
    for (let i = 0; i < subtasks.length; i += input.shardSize) this.shards.push(subtasks.slice(i, i + input.shardSize));
  }

  /** Runs every shard; returns the first job-fatal failure, if any (the caller fails the job with it). */
  async run(): Promise<ShardOutput['fatal']> {
    const parallel = Math.min(this.shards.length, this.input.concurrency, MAX_PARALLEL_SHARDS);
    // Split C between the parallel children so the job never has more than C calls in flight.
    const lanes = Array.from(
      { length: parallel },
      (_, i) => Math.floor(this.input.concurrency / parallel) + (i < this.input.concurrency % parallel ? 1 : 0),
    );
    const digestChars = Math.floor(SYNTHESIS_BUDGET_CHARS / this.shards.length);
    const previewChars = Math.min(1_000, Math.max(80, Math.floor(digestChars / this.input.shardSize)));
    let next = 0;
    // allSettled: after a cancel every running shard still reports what it finished before we go on.
    const settled = await Promise.allSettled(
      lanes.map(async (concurrency) => {
        while (next < this.shards.length && !this.fatal) {
          const index = next++;
          const shard = this.shards[index]!;
          for (const s of shard) this.tracks.get(s.id)!.state = 'running';
          const out = await executeChild(shardWorkflow, {
            workflowId: `${workflowInfo().workflowId}/shard-${index + 1}`,
            args: [
              {
                index,
                subtasks: shard,
                total: this.subtasks.length,
                shared: this.shared,
                model: this.input.workerModel ?? null,
                maxTokens: this.input.subtaskMaxTokens,
                concurrency,
                maxAttempts: this.input.maxAttempts,
                heartbeatTimeoutSeconds: this.input.heartbeatTimeoutSeconds,
                subtaskTimeoutSeconds: this.input.subtaskTimeoutSeconds,
                previewChars,
                digestChars,
              },
            ],
          });
          this.apply(shard, out);
        }
      }),
    );
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    return this.fatal;
  }

  private apply(shard: Subtask[], out: ShardOutput): void {
    this.done.set(out.index, out);
    this.calls.push(...out.calls);
    const failed = new Set(out.failedIds);
    const skipped = new Set(out.skippedIds);
    for (const s of shard) {
      const t = this.tracks.get(s.id)!;
      t.state = failed.has(s.id) ? 'failed' : skipped.has(s.id) ? 'skipped' : 'completed';
      t.error = failed.has(s.id) ? (out.errors[s.id] ?? 'failed (see the shard results)') : null;
    }
    if (out.fatal) this.fatal ??= out.fatal;
  }

  /** One synthesis part per finished shard: its digest of previews, not 10,000 outputs. */
  synthesisParts(): SynthesisPart[] {
    return [...this.done.values()]
      .sort((a, b) => a.index - b.index)
      .map((out) => {
        const shard = this.shards[out.index] ?? [];
        return {
          id: `shard-${out.index + 1}`,
          title: `subtasks ${span(shard).first}–${span(shard).last}`,
          output: out.digest,
          error: null,
        };
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
