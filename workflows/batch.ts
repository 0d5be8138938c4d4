/**
 * batchWorkflow: runs a list of jobs, each as a child jobWorkflow (its own history and UI page,
 * linked to this one), at most `concurrency` at a time. A failing job is recorded, never fatal.
 *
 * History stays bounded for any number of jobs: a run starts at most `pageSize` children (fewer
 * when Temporal suggests continue-as-new), waits for them, then continues as new with the cursor
 * and the running totals. Per-job outcomes are kept compact (no answers: those live in each
 * child's own history, under a predictable id `<batch id>-j<line>`).
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  continueAsNew,
  executeChild,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchCarry, BatchInput, BatchInputArg, BatchResult, JobOutcome } from '../shared/batch';
import { MAX_LISTED_FAILURES, MAX_LISTED_OUTCOMES } from '../shared/limits';
import { roundUsd } from '../shared/pricing';
import type { JobInputArg, ResultDocument } from '../shared/schemas';
import { batchProgressQuery } from './batch-definitions';
import { jobWorkflow } from './job';
import { runLanes } from './lanes';
import { parseBatchInput, resultDocumentOf } from './validation';

export async function batchWorkflow(rawInput: BatchInputArg): Promise<BatchResult> {
  const input = parseBatchInput(rawInput);
  const info = workflowInfo();
  const carry: BatchCarry = input.carry ?? {
    cursor: 0,
    runs: 1,
    counts: { completed: 0, partial: 0, failed: 0, cancelled: 0 },
    costUsd: 0,
    byModel: {},
    outcomes: [],
    failures: [],
    peakRunning: 0,
    startedAt: info.startTime.toISOString(),
  };
  const total = input.jobs.length;
  let running = 0;

  // This run's page: jobs [cursor, end). Lanes take them in order, so once all lanes have drained,
  // every job before `next` is finished and `next` is the cursor for the following run.
  const end = Math.min(total, carry.cursor + input.pageSize);
  let next = carry.cursor;
  setHandler(batchProgressQuery, () => ({
    jobs: total,
    done: next - running,
    running,
    counts: carry.counts,
    costUsd: roundUsd(carry.costUsd),
    runs: carry.runs,
  }));
  const take = () => (next < end && !workflowInfo().continueAsNewSuggested ? next++ : undefined);
  await runLanes(Math.min(input.concurrency, end - carry.cursor), take, async (index) => {
    running++;
    carry.peakRunning = Math.max(carry.peakRunning, running);
    try {
      record(carry, await runJob(input, index));
    } finally {
      running--;
    }
  });
  carry.cursor = next;

  if (carry.cursor < total) {
    await continueAsNew<typeof batchWorkflow>({ ...input, carry: { ...carry, runs: carry.runs + 1 } });
  }
  return {
    workflowId: info.workflowId,
    name: input.name,
    mode: input.mode,
    jobs: total,
    counts: carry.counts,
    usage: { byModel: carry.byModel, costUsd: roundUsd(carry.costUsd) },
    runs: carry.runs,
    peakRunning: carry.peakRunning,
    outcomes: [...carry.outcomes].sort((a, b) => a.line - b.line),
    outcomesTruncated: total > MAX_LISTED_OUTCOMES,
    failures: [...carry.failures].sort((a, b) => a.line - b.line),
    // The sandbox's Date is the workflow task's time from the history (replay-safe), not the host clock.
    timing: { startedAt: carry.startedAt, endedAt: new Date().toISOString() },
  };
}

interface JobRunOutcome {
  outcome: JobOutcome;
  usage: ResultDocument['usage'] | null;
}

async function runJob(input: BatchInput, index: number): Promise<JobRunOutcome> {
  const workflowId = `${workflowInfo().workflowId}-j${index + 1}`;
  const job: JobInputArg = {
    // The batch's mode applies to every job that does not choose its own.
    fanOut: input.mode,
    ...(input.batchPollSeconds !== undefined ? { batchPollSeconds: input.batchPollSeconds } : {}),
    ...(input.jobs[index] as JobInputArg),
  };
  const outcome = (doc: ResultDocument | null, status: JobOutcome['status'], error: string | null): JobRunOutcome => ({
    outcome: { line: index + 1, workflowId, status, costUsd: doc?.usage.costUsd ?? 0, error },
    usage: doc?.usage ?? null,
  });
  try {
    const result = await executeChild(jobWorkflow, {
      workflowId,
      args: [job],
      // Cancelling the batch cancels its running jobs (which keep their finished work).
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    const doc = resultDocumentOf(result);
    return doc ? outcome(doc, doc.status, doc.error ?? null) : outcome(null, 'failed', 'unreadable result document');
  } catch (err) {
    if (isCancellation(err) && !(err instanceof ChildWorkflowFailure)) throw err;
    const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
    const doc = cause instanceof ApplicationFailure ? resultDocumentOf(cause.details?.[0]) : null;
    const message =
      cause instanceof ApplicationFailure
        ? `${cause.type ?? 'Error'}: ${cause.message}`
        : cause instanceof Error
          ? cause.message
          : String(cause);
    const status = isCancellation(cause) ? 'cancelled' : 'failed';
    return outcome(doc, status, message);
  }
}

function record(carry: BatchCarry, { outcome, usage }: JobRunOutcome): void {
  carry.counts[outcome.status] += 1;
  carry.costUsd += outcome.costUsd;
  for (const [model, u] of Object.entries(usage?.byModel ?? {})) {
    const m = (carry.byModel[model] ??= { inputTokens: 0, outputTokens: 0, costUsd: 0 });
    m.inputTokens += u.inputTokens;
    m.outputTokens += u.outputTokens;
    m.costUsd = roundUsd(m.costUsd + u.costUsd);
  }
  if (carry.outcomes.length < MAX_LISTED_OUTCOMES) carry.outcomes.push(outcome);
  if ((outcome.status === 'failed' || outcome.status === 'cancelled') && carry.failures.length < MAX_LISTED_FAILURES)
    carry.failures.push(outcome);
}
