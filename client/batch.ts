/**
 * The typed TS API for batches and their schedules: run a job list once (`batchWorkflow`), or put
 * it on a Temporal Schedule (cron or interval, overlap policy, timezone) and manage that schedule.
 */
import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import {
  BatchInputSchema,
  BatchResultSchema,
  type BatchInput,
  type BatchInputArg,
  type BatchProgress,
  type BatchResult,
} from '../shared/batch';
import { describeZodError } from '../shared/schemas';
import { batchProgressQuery } from '../workflows/batch-definitions';
import type { batchWorkflow } from '../workflows';
import { InvalidJobInputError, type RengaClient } from './api';

export const OVERLAP_POLICIES = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;
export type OverlapName = keyof typeof OVERLAP_POLICIES;

export function validateBatchInput(input: BatchInputArg): BatchInput {
  const parsed = BatchInputSchema.safeParse(input);
  if (!parsed.success) throw new InvalidJobInputError(describeZodError(parsed.error));
  return parsed.data;
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 32)
      .replace(/-+$/, '') || 'batch'
  );
}

export async function startBatch(
  rc: RengaClient,
  input: BatchInputArg,
  opts: { workflowId?: string } = {},
): Promise<string> {
  const valid = validateBatchInput(input);
  const workflowId = opts.workflowId ?? `renga-batch-${slug(valid.name)}-${randomUUID().slice(0, 8)}`;
  await rc.client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
    args: [valid],
    taskQueue: rc.config.RENGA_TASK_QUEUE,
    workflowId,
  });
  return workflowId;
}

/** Waits for the batch, following its continue-as-new chain to the last run. */
export async function getBatchResult(rc: RengaClient, workflowId: string): Promise<BatchResult> {
  return BatchResultSchema.parse(await rc.client.workflow.getHandle<typeof batchWorkflow>(workflowId).result());
}

export async function getBatchProgress(rc: RengaClient, workflowId: string): Promise<BatchProgress> {
  return rc.client.workflow.getHandle(workflowId).query(batchProgressQuery);
}

// ---------------------------------------------------------------------------------------------
// Schedules

/** `every` is what the user wrote (e.g. "6h"), `everyMs` its value. */
export type ScheduleTiming = { cron: string } | { every: string; everyMs: number };

export interface CreateScheduleOptions {
  name: string;
  timing: ScheduleTiming;
  timezone?: string;
  overlap: OverlapName;
  input: BatchInputArg;
  jobsFile: string;
  paused?: boolean;
  note?: string;
}

/** Schedule ids become workflow id prefixes and URL parts: keep them plain. */
export const SCHEDULE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$/;

export async function createSchedule(rc: RengaClient, opts: CreateScheduleOptions): Promise<void> {
  const input = validateBatchInput(opts.input);
  await rc.client.schedule.create({
    scheduleId: opts.name,
    spec: {
      ...('cron' in opts.timing
        ? { cronExpressions: [opts.timing.cron] }
        : { intervals: [{ every: opts.timing.everyMs }] }),
      ...(opts.timezone ? { timezone: opts.timezone } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'batchWorkflow',
      args: [input],
      taskQueue: rc.config.RENGA_TASK_QUEUE,
      // Temporal appends the scheduled time, so each run gets its own id (and its jobs ids under it).
      workflowId: `renga-batch-${opts.name}`,
    },
    policies: { overlap: OVERLAP_POLICIES[opts.overlap] },
    // Kept as written: the server stores a cron expression as calendar specs.
    memo: {
      timing: 'cron' in opts.timing ? `cron "${opts.timing.cron}"` : `every ${opts.timing.every}`,
      jobsFile: opts.jobsFile,
      jobs: input.jobs.length,
      mode: input.mode,
      concurrency: input.concurrency,
    },
    state: { paused: opts.paused ?? false, ...(opts.note ? { note: opts.note } : {}) },
  });
}

export async function listSchedules(rc: RengaClient): Promise<ScheduleSummary[]> {
  const out: ScheduleSummary[] = [];
  for await (const s of rc.client.schedule.list()) {
    // Only renga's: a shared namespace may hold other schedules.
    if (s.action?.type === 'startWorkflow' && s.action.workflowType === 'batchWorkflow') out.push(s);
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export interface RecentRun {
  workflowId: string;
  scheduledAt: string;
  startedAt: string;
  status: string;
  /** The batch's result once it has completed. */
  result: Pick<BatchResult, 'jobs' | 'counts' | 'usage'> | null;
  /** Live progress while it runs. */
  progress: BatchProgress | null;
}

export interface ScheduleView {
  name: string;
  /** As given at creation: `cron "…"` or `every 6h`. */
  timing: string;
  timezone: string | null;
  overlap: string;
  paused: boolean;
  note: string | null;
  memo: Record<string, unknown>;
  nextRuns: string[];
  recentRuns: RecentRun[];
  actionsTaken: number;
  skippedOverlap: number;
  running: string[];
}

export async function describeSchedule(rc: RengaClient, name: string): Promise<ScheduleView> {
  const d: ScheduleDescription = await rc.client.schedule.getHandle(name).describe();
  const recentRuns: RecentRun[] = [];
  for (const a of d.info.recentActions) {
    const workflowId = a.action.workflow.workflowId;
    const handle = rc.client.workflow.getHandle(workflowId);
    const wf = await handle.describe().catch(() => null);
    const status = wf?.status.name ?? 'UNKNOWN';
    let result: RecentRun['result'] = null;
    let progress: BatchProgress | null = null;
    if (status === 'COMPLETED') {
      const r = BatchResultSchema.safeParse(await handle.result().catch(() => null));
      if (r.success) result = { jobs: r.data.jobs, counts: r.data.counts, usage: r.data.usage };
    } else if (status === 'RUNNING') {
      progress = await handle.query(batchProgressQuery).catch(() => null);
    }
    recentRuns.push({
      workflowId,
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
      status,
      result,
      progress,
    });
  }
  return {
    name: d.scheduleId,
    timing: typeof d.memo?.timing === 'string' ? d.memo.timing : 'custom',
    timezone: d.spec.timezone ?? null,
    overlap: d.policies.overlap ?? 'SKIP',
    paused: d.state.paused,
    note: d.state.note ?? null,
    memo: d.memo ?? {},
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns,
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    running: d.info.runningActions.map((r) => r.workflow.workflowId),
  };
}
