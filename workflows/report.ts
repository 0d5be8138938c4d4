/**
 * Publishes a job's progress: the Web UI page's current details (in memory, free) on every change;
 * search attributes (history events) on phase changes and every ~5% of subtasks.
 */
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Plan, Progress } from '../shared/schemas';
import * as SA from '../shared/search-attributes';
import { detailsMarkdown } from './details';

/** Search attribute updates are history events: about this many per job, whatever its size. */
const PROGRESS_UPDATES_PER_JOB = 20;

export class ProgressPublisher {
  private lastReportedDone = -1;
  /** Only a job started with renga's search attributes updates them: on a server without them registered, an upsert would fail every workflow task. */
  private readonly searchAttributes = workflowInfo().typedSearchAttributes.get(SA.RengaPhase) !== undefined;

  constructor(private readonly job: string) {}

  /** `force`: a phase change or the end, always worth a search attribute update. */
  publish(p: Progress, plan: Plan | null, force: boolean): void {
    setCurrentDetails(detailsMarkdown(p, plan, this.job));
    if (!this.searchAttributes) return;
    const done = p.completed + p.failed;
    const step = Math.max(1, Math.ceil(p.total / PROGRESS_UPDATES_PER_JOB));
    if (!force && (done === this.lastReportedDone || (done % step !== 0 && done !== p.total))) return;
    this.lastReportedDone = done;
    upsertSearchAttributes([
      { key: SA.RengaPhase, value: p.phase },
      { key: SA.RengaStatus, value: p.status ?? 'running' },
      { key: SA.RengaSubtasksTotal, value: p.total },
      { key: SA.RengaSubtasksDone, value: p.completed },
      { key: SA.RengaCostUsd, value: p.costUsd },
      ...(p.plannerModel ? [{ key: SA.RengaPlannerModel, value: p.plannerModel }] : []),
      ...(p.workerModel ? [{ key: SA.RengaWorkerModel, value: p.workerModel }] : []),
    ]);
  }
}
