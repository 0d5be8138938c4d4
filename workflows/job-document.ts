/**
 * What a job shows of itself: the live progress (queries, the Web UI details, search attributes) and
 * the result document (the run's return value, or the details of its failure). Both are pure reads of
 * the job's state, so they sit apart from the orchestration in job.ts.
 */
import { workflowInfo, type ApplicationFailure } from '@temporalio/workflow';
import type { JobInput, JobStatus, Phase, Plan, Progress, ResultDocument } from '../shared/schemas';
import type { CancelRequest } from './definitions';
import type { SubtaskLedger } from './ledger';
import type { RedoRun } from './redo';
import type { ShardedFanOut } from './shard-fanout';
import type { JobSpend } from './spend';
import { spendDocument } from './spend-hooks';

/** The job's state as the progress and the document read it (JobRun in job.ts implements it). */
export interface JobView {
  readonly input: JobInput;
  readonly phase: Phase;
  readonly status: JobStatus | null;
  readonly plan: Plan | null;
  readonly answer: string | null;
  readonly cancel: CancelRequest | null;
  readonly plannerModel: string | null;
  readonly ledger: SubtaskLedger;
  readonly spend: JobSpend;
  readonly redo: RedoRun | null;
  /** Set when the plan ran through child workflows (shard-fanout.ts). */
  readonly sharded: ShardedFanOut | null;
}

/** The worker model the job names, or the one its calls were routed to. */
function workerModel(job: JobView): string | null {
  return job.input.workerModel ?? job.ledger.workerModel;
}

export function jobProgress(job: JobView): Progress {
  const { ledger } = job;
  const usage = ledger.usageTotals();
  const byModel = Object.values(usage.byModel);
  const budget = job.spend.ledger.summary();
  return {
    phase: job.phase,
    status: job.status,
    total: ledger.total,
    completed: ledger.count('completed'),
    failed: ledger.count('failed'),
    running: ledger.count('running'),
    cancelRequested: job.cancel !== null,
    costUsd: usage.costUsd,
    tokens: {
      input: byModel.reduce((n, m) => n + m.inputTokens, 0),
      output: byModel.reduce((n, m) => n + m.outputTokens, 0),
    },
    subtasks: ledger.progressRows(),
    plannerModel: job.plannerModel,
    workerModel: workerModel(job),
    ...(budget ? { budget } : {}),
  };
}

/** The result document; `failure` is what ended a failed job. */
export function jobDocument(job: JobView, status: JobStatus, failure?: ApplicationFailure): ResultDocument {
  const doc: ResultDocument = {
    workflowId: workflowInfo().workflowId,
    status,
    plan: job.plan,
    subtasks: job.ledger.results(workerModel(job) ?? 'default'),
    answer: job.answer,
    usage: job.ledger.usageTotals(),
    timing: {
      // Workflow time is replay-safe: the sandbox's Date is the current workflow task's time from
      // the history, not the machine's clock (docs/architecture.md, "the workflow clock").
      startedAt: workflowInfo().startTime.toISOString(),
      endedAt: new Date().toISOString(),
    },
    error: failure ? `${failure.type}: ${failure.message}` : (job.cancel?.reason ?? job.spend.endReason()),
    ...spendDocument(job.spend, job.ledger.allCalls),
    ...(job.redo ? { redo: job.redo.document() } : {}),
  };
  return job.sharded ? job.sharded.compact(doc) : doc;
}
