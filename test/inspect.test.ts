/**
 * What operators see: search attributes and UI summaries read back through the client, the
 * progress query, `watch` in plain-line mode, `list` filters, cancellation and plan approval.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import {
  approvePlan,
  cancelJob,
  getLiveProgress,
  getResult,
  listJobs,
  listQuery,
  rejectPlan,
  startJob,
} from '../client/api';
import { parseSince } from '../client/commands/inspect';
import { watchJob } from '../client/watch';
import * as SA from '../shared/search-attributes';
import { progressQuery } from '../workflows/definitions';
import { belongsTo, callsOf } from './helpers/calls';
import { subtaskIdOf, waitUntil, useStack } from './helpers/stack';

const stack = useStack();

beforeEach(() => {
  stack.sim.configure({ latencyMs: 0, faults: {} });
});

test('search attributes, the workflow summary and activity labels are set and read back through the client', async () => {
  const id = await startJob(stack.rc, { job: 'Survey three rainwater harvesting methods', maxSubtasks: 3 });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  const handle = stack.client.workflow.getHandle(id);
  const d = await handle.describe();

  expect(d.typedSearchAttributes.get(SA.RengaPhase)).toBe('done');
  expect(d.typedSearchAttributes.get(SA.RengaStatus)).toBe('completed');
  expect(d.typedSearchAttributes.get(SA.RengaSubtasksTotal)).toBe(3);
  expect(d.typedSearchAttributes.get(SA.RengaSubtasksDone)).toBe(3);
  expect(d.typedSearchAttributes.get(SA.RengaCostUsd)).toBeCloseTo(doc.usage.costUsd, 6);
  expect(d.typedSearchAttributes.get(SA.RengaPlannerModel)).toBe('claude-sonnet-4-6');
  expect(d.typedSearchAttributes.get(SA.RengaWorkerModel)).toBe('claude-haiku-4-5');
  expect(await d.staticSummary()).toBe('Survey three rainwater harvesting methods · up to 3 subtasks');
  expect(await d.staticDetails()).toMatch(/^\*\*Job:\*\* Survey three rainwater harvesting methods/);

  // Each activity is labelled by what it does, via user metadata on its scheduled event.
  const history = await handle.fetchHistory();
  const labels = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
  const titles = doc.plan!.subtasks.map((s) => `subtask ${s.id}: ${s.title}`);
  expect(labels).toEqual(['plan', ...titles, 'synthesize']);

  // The UI list can filter on them (visibility is eventually consistent: wait for the index).
  const rows = await waitUntil(async () => {
    const r = await listJobs(stack.rc, { phase: 'done', status: 'completed' });
    return r.some((x) => x.workflowId === id) ? r : undefined;
  }, 'the job is listed as done');
  expect(rows.find((x) => x.workflowId === id)).toMatchObject({
    execution: 'COMPLETED',
    status: 'completed',
    done: 3,
    total: 3,
  });
  const costly = await stack.client.workflow.list({ query: `RengaPhase = 'done' AND RengaCostUsd > 1000` });
  for await (const w of costly) expect(w.workflowId).not.toBe(id);
});

test('list builds safe visibility queries and parses --since', () => {
  expect(listQuery({ status: 'running', phase: "fan'out" })).toBe(
    `WorkflowType = 'jobWorkflow' AND ExecutionStatus = 'Running' AND RengaPhase = 'fan\\'out'`,
  );
  expect(listQuery({ status: 'partial' })).toBe(`WorkflowType = 'jobWorkflow' AND RengaStatus = 'partial'`);
  expect(parseSince('2h', new Date('2026-11-25T12:00:00Z')).toISOString()).toBe('2026-11-25T10:00:00.000Z');
  expect(() => parseSince('yesterday-ish')).toThrow(/--since takes 30m, 2h, 7d or a date/);
});

test('watch prints one plain line per change when stdout is not a TTY, through retries to the end', async () => {
  stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 1500 } });
  const id = `watch-${randomUUID()}`;
  stack.sim.script({ kind: 'server', match: { textIncludes: 'Subtask s2 of', workflowId: id } });
  await startJob(
    stack.rc,
    { job: 'Write three short poems about rain', maxSubtasks: 3, concurrency: 3 },
    { workflowId: id },
  );
  const lines: string[] = [];
  const doc = await watchJob(stack.rc, id, { tty: false, write: (l) => lines.push(l), intervalMs: 100 });

  expect(doc.status).toBe('completed');
  expect(lines[0]).toMatch(new RegExp(`^watching ${id} — http://localhost:8233/namespaces/default/workflows/${id}$`));
  for (const s of doc.plan!.subtasks) {
    expect(lines).toContain(`${s.id} done: ${s.title}`);
    expect(lines.some((l) => l.startsWith(`${s.id} running (attempt 1)`))).toBe(true);
  }
  // s2's first call failed with a 500: the retry shows as attempt 2 with the reason.
  expect(lines.some((l) => /^s2 running \(attempt 2\) — last error: server error \(HTTP 500\)/.test(l))).toBe(true);
  expect(
    lines.some((l) =>
      /^progress: fanout · \d\/3 done · \d running · [\d,]+ in \/ [\d,]+ out tokens · \$\d+\.\d{4}$/.test(l),
    ),
  ).toBe(true);
  const counts = lines
    .map((l) => /^progress: \w+ · (\d)\/3 done/.exec(l)?.[1])
    .filter(Boolean)
    .map(Number);
  expect(counts.length).toBeGreaterThan(1);
  expect([...counts].sort()).toEqual(counts); // progress only moves forward
  expect(lines[lines.length - 1]).toMatch(new RegExp(`^${id}: completed · 3/3 subtasks · \\$\\d+\\.\\d{4}$`));
  expect(lines.join('\n')).not.toContain('\u001b['); // no colour codes off a terminal
});

test('cancel stops in-flight model calls through their heartbeats and keeps finished work', async () => {
  // Calls that would take minutes: only cancellation can end them.
  stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 300_000 } });
  const id = await startJob(stack.rc, { job: 'Catalogue four kinds of cloud', maxSubtasks: 4, concurrency: 2 });
  const handle = stack.client.workflow.getHandle(id);
  await waitUntil(async () => (await handle.query(progressQuery)).running === 2, 'two subtasks are running');
  // Both model requests have reached the simulator (so cancelling must abort them, not prevent them).
  await waitUntil(
    () =>
      stack.sim.inFlight().filter((a) => belongsTo(a.workflowId, id) && a.activityType === 'runSubtask').length === 2,
    'both subtask requests are in flight',
  );
  const live = await waitUntil(async () => {
    const p = await getLiveProgress(stack.rc, id);
    return Object.keys(p.live).length === 2 ? p : undefined;
  }, 'the server reports two pending subtask activities');
  expect(Object.values(live.live).every((l) => l.attempt === 1)).toBe(true);

  await cancelJob(stack.rc, id, { reason: 'operator changed their mind' });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('cancelled');
  expect(doc.error).toBe('operator changed their mind');
  expect(doc.subtasks.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
  // The two HTTP requests in flight were aborted by the activities, not left to run for minutes.
  const calls = await callsOf(stack.sim, id);
  const subtaskCalls = calls.filter((e) => e.activityType === 'runSubtask');
  expect(subtaskCalls.map((e) => e.fault)).toEqual(['aborted', 'aborted']);
  expect(subtaskCalls.map((e) => subtaskIdOf(e.lastUserText)).sort()).toEqual(['s1', 's2']);
});

describe('plan approval', () => {
  const waitForApproval = (id: string) =>
    waitUntil(
      async () => (await stack.client.workflow.getHandle(id).query(progressQuery)).phase === 'awaiting-approval',
      'the job waits for approval',
    );

  test('approve: the job waits after planning, then runs', async () => {
    const id = await startJob(stack.rc, {
      job: 'Draft a three-part onboarding email series',
      maxSubtasks: 3,
      approvePlan: true,
    });
    await waitForApproval(id);
    expect((await callsOf(stack.sim, id)).map((e) => e.activityType)).toEqual(['planJob']);
    const d = await stack.client.workflow.getHandle(id).describe();
    expect(d.typedSearchAttributes.get(SA.RengaPhase)).toBe('awaiting-approval');
    expect(await d.staticSummary()).toMatch(/plan needs approval$/);

    stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 1000 } });
    await approvePlan(stack.rc, id);
    // Approving twice is refused with a reason: the job is no longer waiting.
    const again = await approvePlan(stack.rc, id).then(
      () => null,
      (e: unknown) => e,
    );
    expect(again).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((again as WorkflowUpdateFailedError).cause?.message).toMatch(
      /not waiting for plan approval \(phase: fanout\)/,
    );
    // A typed failure, so a client can tell a refusal from any other error.
    expect((again as WorkflowUpdateFailedError).cause).toBeInstanceOf(ApplicationFailure);
    expect(((again as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('NotAwaitingApproval');
    const doc = await getResult(stack.rc, id);
    expect(doc.status).toBe('completed');
  });

  test('reject: the job ends cancelled with the reason and spends nothing on subtasks', async () => {
    const id = await startJob(stack.rc, { job: 'Plan a product launch', maxSubtasks: 3, approvePlan: true });
    await waitForApproval(id);
    await rejectPlan(stack.rc, id, 'too broad');
    const doc = await getResult(stack.rc, id);
    expect(doc.status).toBe('cancelled');
    expect(doc.error).toBe('plan rejected: too broad');
    expect(doc.plan!.subtasks).toHaveLength(3);
    expect((await callsOf(stack.sim, id)).map((e) => e.activityType)).toEqual(['planJob']);
  });

  test('no decision before the deadline fails the job with PlanApprovalTimedOut', async () => {
    const id = await startJob(stack.rc, {
      job: 'Rename the project',
      maxSubtasks: 2,
      approvePlan: true,
      approvalTimeoutSeconds: 1,
    });
    const doc = await getResult(stack.rc, id);
    expect(doc.status).toBe('failed');
    expect(doc.error).toMatch(/^PlanApprovalTimedOut: /);
  });
});
