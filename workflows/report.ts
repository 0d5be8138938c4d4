/**
 * Publishes a job's progress: the Web UI page's current details (in memory, no history event),
 * rendered once per activation that changed them (details-flush.ts); search attributes (history
 * events) on phase changes and every ~5% of subtasks. Progress is built only when one of them needs
 * it: a fan-out reports every subtask's start and end, and building it is O(subtasks).
 */
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Plan, Progress } from '../shared/schemas';
import * as SA from '../shared/search-attributes';
import { detailsMarkdown } from './details';
import { detailsChanged } from './details-flush';

/** What the publisher reads, on demand. */
export interface ProgressSource {
  progress(): Progress;
  plan(): Plan | null;
  /** Subtasks finished (completed or failed) and in all: cheap, read on every change. */
  done(): number;
  total(): number;
}

/** Search attribute updates are history events: about this many per job, whatever its size. */
const PROGRESS_UPDATES_PER_JOB = 20;

export class ProgressPublisher {
  private lastReportedDone = -1;
  /** Only a job started with renga's search attributes updates them: on a server without them registered, an upsert would fail every workflow task. */
  private readonly searchAttributes = workflowInfo().typedSearchAttributes.get(SA.RengaPhase) !== undefined;

  constructor(
    private readonly job: string,
    private readonly source: ProgressSource,
  ) {}

  /** `force`: a phase change or the end, always worth a search attribute update. */
  publish(force: boolean): void {
    detailsChanged(() => detailsMarkdown(this.source.progress(), this.source.plan(), this.job));
    if (!this.searchAttributes) return;
    const done = this.source.done();
    const total = this.source.total();
    const step = Math.max(1, Math.ceil(total / PROGRESS_UPDATES_PER_JOB));
    if (!force && (done === this.lastReportedDone || (done % step !== 0 && done !== total))) return;
    this.lastReportedDone = done;
    const p = this.source.progress();
    upsertSearchAttributes([
      { key: SA.RengaPhase, value: p.phase },
      { key: SA.RengaStatus, value: p.status ?? 'running' },
      { key: SA.RengaSubtasksTotal, value: p.total },
      { key: SA.RengaSubtasksDone, value: p.completed },
      { key: SA.RengaCostUsd, value: p.costUsd },
      ...(p.plannerModel ? [{ key: SA.RengaPlannerModel, value: p.plannerModel }] : []),
      ...(p.workerModel ? [{ key: SA.RengaWorkerModel, value: p.workerModel }] : []),
      // Jobs with a budget: findable once it stopped them (`RengaBudgetExhausted = true`).
      ...(p.budget ? [{ key: SA.RengaBudgetExhausted, value: p.budget.exhausted }] : []),
    ]);
  }
}
