/**
 * The `batch-api` fan-out of jobWorkflow: all of a job's subtasks go to Anthropic as one Message
 * Batch (half price, results within 24 h). The workflow submits (activity), waits on durable
 * timers that grow from `batchPollSeconds` up to 10 minutes (no busy loop, no activity slot held,
 * and a worker killed mid-wait simply resumes the timer), checks (short activity), fetches the
 * results in pages that stay far below the payload limit, and runs every errored, expired or
 * canceled item as an ordinary direct call.
 */
import { CancellationScope, isCancellation, log, proxyActivities, sleep } from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { FetchBatchResultsOutput } from '../activities/batches';
import type { SharedContextRef } from '../activities/types';
import { describeFailure } from '../shared/failures';
import type { JobInput } from '../shared/schemas';
import { inOrder } from './lanes';
import type { SubtaskLedger } from './ledger';
import { messageBatchOptions } from './policy';
import { runSubtaskLanes, type SubtaskRunner } from './subtask';

const MAX_POLL_SECONDS = 600;
/** Output characters per results page: ~4 bytes a char in the worst case keeps a page under 2 MiB. */
const RESULTS_PAGE_CHARS = 400_000;

/**
 * Submits every subtask in the ledger as one batch; writes succeeded items to the ledger and runs
 * the rest through `direct` (the one-subtask path, with its retries and fatal-error stop).
 */
export async function fanOutViaMessageBatches(
  input: JobInput,
  shared: SharedContextRef,
  ledger: SubtaskLedger,
  direct: SubtaskRunner,
): Promise<void> {
  const subtasks = ledger.subtasks;
  const acts = proxyActivities<RengaActivities>(messageBatchOptions(input.maxAttempts));

  for (const s of subtasks) {
    ledger.start(s.id);
    direct.report();
  }
  // Routed like the direct path: `strong` subtasks go on the strong model, in the same batch.
  const routed = direct.spend ? subtasks.filter((s) => direct.spend!.modelFor(s) !== direct.spend!.models?.fast) : [];
  const submitted = await acts.submitSubtaskBatch({
    subtasks,
    total: subtasks.length,
    shared,
    model: input.workerModel ?? null,
    ...(routed.length ? { models: Object.fromEntries(routed.map((s) => [s.id, direct.spend!.modelFor(s)])) } : {}),
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
        // A batch answer cut off at max_tokens or refused is paid for but never accepted: the
        // subtask runs again on the direct path, which continues or escalates it.
        const cut = item.kind === 'succeeded' && (item.stopReason === 'max_tokens' || item.stopReason === 'refusal');
        if (item.kind === 'succeeded' && !cut) {
          ledger.complete(item.id, { output: item.output, call: item.call, attempt: 1 });
          direct.report();
        } else {
          if (item.kind === 'succeeded') ledger.addCalls([item.call]);
          fallback.push(item.id);
        }
      }
      offset = page.next;
    }
    // An item missing from the results (should not happen) is treated like an errored one.
    for (const s of subtasks) if (!seen.has(s.id)) fallback.push(s.id);
  } catch (err) {
    if (isCancellation(err)) {
      // Unprocessed items of a canceled batch are not billed; stop them even though we are cancelled.
      // Best effort: the job ends cancelled either way, so a failed cancel is logged, not raised.
      await CancellationScope.nonCancellable(() => acts.cancelSubtaskBatch({ batchId })).catch((cause: unknown) =>
        log.warn('could not cancel the message batch', { batchId, cause: describeFailure(cause) }),
      );
    }
    throw err;
  }

  // Errored / expired / canceled items: the direct path, with the job's bounded concurrency.
  const retried = fallback.map((id) => ledger.subtask(id));
  await runSubtaskLanes(
    direct,
    Math.min(input.concurrency, fallback.length),
    inOrder(retried, () => ledger.fatal !== null),
  );
}
