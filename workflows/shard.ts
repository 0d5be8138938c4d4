/**
 * shardWorkflow: one shard of a large plan, run as a child of jobWorkflow (workflows/shard-fanout.ts
 * explains why plans larger than `shardSize` are split). It runs the same lanes and the same
 * one-subtask path as a direct job, into its own ledger; outputs go to the blob store (the activity
 * returns a short preview and a key), and the parent receives only counts, usage per model, the
 * first errors and a digest for synthesis — so the parent's history and result stay small.
 */
import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { SharedContextRef } from '../activities/types';
import type { CallUsage, Subtask } from '../shared/schemas';
import { inOrder } from './lanes';
import { SubtaskLedger } from './ledger';
import { BLOB_STORE_OPTIONS, modelCallOptions } from './policy';
import { runSubtaskLanes } from './subtask';

/** Failures reported back with their error text per shard; the rest are in the shard's results blob. */
const MAX_ERRORS_PER_SHARD = 20;

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
  /** The job's `queueAhead`; absent: on. */
  queueAhead?: boolean;
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
  const ledger = new SubtaskLedger();
  ledger.add(input.subtasks);
  const work = new CancellationScope();
  const runner = {
    ledger,
    total: input.total,
    shared: input.shared,
    model: input.model,
    maxTokens: input.maxTokens,
    maxAttempts: input.maxAttempts,
    options: modelCallOptions(input),
    labelled: false,
    previewChars: input.previewChars,
    stop: () => work.cancel(),
    report: () => undefined,
  };
  try {
    await work.run(() =>
      runSubtaskLanes(
        runner,
        Math.min(input.concurrency, input.subtasks.length),
        inOrder(input.subtasks, () => ledger.fatal !== null),
        { queueAhead: input.queueAhead !== false },
      ),
    );
  } catch (err) {
    // Our own cancel after a fatal failure, or the parent's cancel: either way the shard stores and
    // returns what finished (the parent waits for it), so a cancelled job keeps every output.
    if (!isCancellation(err)) throw err;
  }

  const full = ledger.resultsWithPlan(input.model ?? 'default');
  // Not cancellable: after a cancel this is what keeps the finished outputs.
  const store = proxyActivities<RengaActivities>(BLOB_STORE_OPTIONS);
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
  const fatal = ledger.fatal;
  return {
    index: input.index,
    completed: full.filter((r) => r.status === 'completed').length,
    failedIds: full.filter((r) => r.status === 'failed').map((r) => r.id),
    skippedIds: full.filter((r) => r.status === 'skipped').map((r) => r.id),
    errors,
    calls: ledger.callsByModel(),
    resultsRef,
    digest,
    fatal: fatal ? { type: fatal.type, message: fatal.message } : null,
  };
}
