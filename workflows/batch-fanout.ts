/**
 * The `batch-api` fan-out of jobWorkflow: all of a job's subtasks go to Anthropic as one Message
 * Batch (half price, results within 24 h). The workflow submits (activity), waits on durable
 * timers that grow from `batchPollSeconds` up to 10 minutes (no busy loop, no activity slot held,
 * and a worker killed mid-wait simply resumes the timer), checks (short activity), fetches the
 * results in pages that stay far below the payload limit, and runs every errored, expired or
 * canceled item as an ordinary direct call.
 */
import { CancellationScope, isCancellation, proxyActivities, sleep, type RetryPolicy } from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { BatchItemResult, FetchBatchResultsOutput } from '../activities/batches';
import type { SharedContextRef } from '../activities/types';
import type { JobInput, Subtask } from '../shared/schemas';

const MAX_POLL_SECONDS = 600;
/** Output characters per results page: ~4 bytes a char in the worst case keeps a page under 2 MiB. */
const RESULTS_PAGE_CHARS = 400_000;

export interface BatchFanOutHost {
  input: JobInput;
  subtasks: Subtask[];
  shared: SharedContextRef;
  markRunning(id: string): void;
  succeeded(id: string, item: Extract<BatchItemResult, { kind: 'succeeded' }>): void;
  /** The direct path for one subtask (retries, failure classification, fatal-error stop). */
  runDirect(id: string): Promise<void>;
  stopped(): boolean;
}

export async function fanOutViaMessageBatches(host: BatchFanOutHost): Promise<void> {
  const { input, subtasks } = host;
  const retry: RetryPolicy = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '60s',
    maximumAttempts: input.maxAttempts,
  };
  const acts = proxyActivities<RengaActivities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '60s', retry });

  for (const s of subtasks) host.markRunning(s.id);
  const submitted = await acts.submitSubtaskBatch({
    subtasks,
    total: subtasks.length,
    shared: host.shared,
    model: input.workerModel ?? null,
    maxTokens: input.subtaskMaxTokens,
  });
  const batchId = submitted.batchId;

  const fallback: string[] = [];
  try {
    let delay = input.batchPollSeconds;
    const cap = Math.max(input.batchPollSeconds, MAX_POLL_SECONDS);
    for (;;) {
      await sleep(delay * 1000);
      const state = await acts.checkSubtaskBatch({ batchId });
      if (state.status === 'ended') break;
      delay = Math.min(cap, delay * 2);
    }
    const seen = new Set<string>();
    let offset: number | null = 0;
    while (offset !== null) {
      const page: FetchBatchResultsOutput = await acts.fetchSubtaskBatchResults({
        batchId,
        offset,
        maxChars: RESULTS_PAGE_CHARS,
      });
      for (const item of page.items) {
        seen.add(item.id);
        if (item.kind === 'succeeded') host.succeeded(item.id, item);
        else fallback.push(item.id);
      }
      offset = page.next;
    }
    // An item missing from the results (should not happen) is treated like an errored one.
    for (const s of subtasks) if (!seen.has(s.id)) fallback.push(s.id);
  } catch (err) {
    if (isCancellation(err)) {
      // Unprocessed items of a canceled batch are not billed; stop them even though we are cancelled.
      await CancellationScope.nonCancellable(() => acts.cancelSubtaskBatch({ batchId })).catch(() => undefined);
    }
    throw err;
  }

  // Errored / expired / canceled items: the direct path, with the job's bounded concurrency.
  let next = 0;
  const lane = async () => {
    while (next < fallback.length && !host.stopped()) await host.runDirect(fallback[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, fallback.length) }, lane));
}
