/**
 * The guarantees of docs/architecture.md under real failure: a worker killed with SIGKILL mid-fan-out, the
 * simulator injecting 429/529/500/resets/mid-stream errors, and fatal 400/404 answers.
 */
import { randomUUID } from 'node:crypto';
import { getResult, startJob } from '../client/api';
import { progressQuery } from '../workflows/definitions';
import { WORKER_GONE } from '../worker/reclaim';
import type { WorkflowHandle } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { JobInputArg } from '../shared/schemas';
import { workflowFailure } from './helpers/failure';
import { callsOf } from './helpers/calls';
import { subtaskIdOf, waitUntil, useStack } from './helpers/stack';

const stack = useStack({}, { worker: false });
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

beforeEach(() => {
  stack.sim.configure({ latencyMs: 0, faults: {} });
});

/** The job's subtask calls (settled: an aborted call has its final entry). */
const subtaskRequests = async (id: string) =>
  (await callsOf(stack.sim, id)).filter((e) => e.activityType === 'runSubtask');

/**
 * Starts `input` on a worker process of its own and SIGKILLs it once `finished` subtasks are done and
 * the worker has taken a call it has not finished (a started activity: one merely scheduled would go
 * to the next worker as its first attempt, and nothing would be retried). The call must have started
 * within the first half of its latency: lanes started together end together, and one seen started just
 * before it ended would be gone by the kill, its successor not yet taken. A new worker process on this
 * host takes over (`elsewhere`: a worker that, like one on another host, cannot prove the old one
 * gone). Returns the progress at the kill and the result.
 */
async function killMidFanOut(input: JobInputArg, finished: number, replacement: 'same host' | 'elsewhere') {
  // Calls long enough that the one seen started is still running when the kill lands, even on a busy
  // machine; with a short heartbeat timeout, shorter than the first heartbeat (1.2 s), which a busy
  // live worker could send late.
  const heartbeatMs = (input.heartbeatTimeoutSeconds ?? 5) * 1000;
  const callMs = heartbeatMs > 5_000 ? 2_000 : 1_100;
  stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': callMs } });
  const first = await stack.spawnWorker();
  const id = await startJob(stack.rc, input);
  const handle = stack.client.workflow.getHandle(id);
  const before = await waitUntil(async () => {
    const p = await handle.query(progressQuery);
    if (p.completed < finished || p.running === 0) return undefined;
    const { raw } = await handle.describe();
    const taken = (raw.pendingActivities ?? []).some(
      (a) => a.state === STARTED && Date.now() - (optionalTsToMs(a.lastStartedTime) ?? 0) < callMs / 2,
    );
    return taken ? p : undefined;
  }, `${finished} subtask(s) finished and a call taken by the worker`);
  await first.kill('SIGKILL');
  if (replacement === 'same host') await stack.spawnWorker();
  else await stack.startWorker({ reclaimOnStart: false });
  return { id, handle, before, killedPid: first.child.pid!, doc: await getResult(stack.rc, id) };
}

/** Why each retried call's previous attempt ended, from the history (a retried attempt's start records it). */
async function retriedAttemptFailures(handle: WorkflowHandle) {
  return (await handle.fetchHistory()).events!.flatMap((e) => {
    const a = e.activityTaskStartedEventAttributes;
    return a && (a.attempt ?? 1) > 1 ? [a.lastFailure] : [];
  });
}

test('a worker killed with SIGKILL mid-fan-out: a new worker elsewhere completes the job after the heartbeat timeout and no finished subtask is requested again', async () => {
  const { id, handle, before, doc } = await killMidFanOut(
    {
      job: 'Describe eight constellations of the northern sky',
      maxSubtasks: 8,
      concurrency: 2,
      heartbeatTimeoutSeconds: 2,
    },
    2,
    'elsewhere',
  );
  const finishedBeforeKill = before.subtasks.filter((s) => s.state === 'completed').map((s) => s.id);

  expect(doc.status).toBe('completed');
  expect(doc.subtasks.every((s) => s.status === 'completed')).toBe(true);
  const calls = await subtaskRequests(id);
  const requestsFor = (sid: string) => calls.filter((e) => subtaskIdOf(e.lastUserText) === sid);
  for (const sid of finishedBeforeKill) expect(requestsFor(sid)).toHaveLength(1);
  // Only calls in flight at the kill may be repeated. With queue-ahead (the default) that is at most two
  // per slot, 2 × `concurrency`: for the moment an answer's completion is on its way to the server, the
  // call queued behind it has already started (docs/architecture.md, "Guarantees").
  const repeated = doc.subtasks.filter((s) => requestsFor(s.id).length > 1);
  expect(repeated.length).toBeLessThanOrEqual(2 * 2);
  // The retried calls waited out their heartbeat timeout: nothing here could prove the worker dead.
  const retried = await retriedAttemptFailures(handle);
  expect(retried.length).toBeGreaterThan(0);
  for (const f of retried) {
    expect(f?.timeoutFailureInfo?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
  }
});

test("a replacement on the same host retries a killed worker's calls at once, not after their heartbeat timeout", async () => {
  // A heartbeat timeout longer than the test's own: only the replacement's reclaim can finish this job.
  // Plain lanes: the kill waits for a call that started within the first half of its latency, and a
  // queued-ahead call starts (and waits) long before its model call does (workflows/queue-ahead.ts).
  const { handle, killedPid, doc } = await killMidFanOut(
    {
      job: 'Describe six rivers of Europe',
      maxSubtasks: 6,
      concurrency: 3,
      heartbeatTimeoutSeconds: 600,
      queueAhead: false,
    },
    1,
    'same host',
  );

  expect(doc.status).toBe('completed');
  // Each retried call's second attempt records why the first ended: the dead worker, named.
  const retried = await retriedAttemptFailures(handle);
  expect(retried.length).toBeGreaterThan(0);
  for (const f of retried) {
    expect(f?.applicationFailureInfo?.type).toBe(WORKER_GONE);
    expect(f?.message).toContain(`worker ${killedPid}@`);
  }
});

test('under injected 429/529/500/resets/stream errors the job completes, each fault retried by Temporal', async () => {
  await stack.startWorker();
  stack.sim.configure({
    seed: 7,
    faults: { rateLimit: 0.15, overloaded: 0.15, server: 0.1, reset: 0.1, streamError: 0.1, retryAfterSeconds: 1 },
  });
  const id = await startJob(stack.rc, {
    job: 'Explain ten common HTTP status codes',
    maxSubtasks: 10,
    concurrency: 4,
    maxAttempts: 30,
  });
  const doc = await getResult(stack.rc, id);
  stack.sim.configure({ faults: {} });

  expect(doc.status).toBe('completed');
  expect(doc.subtasks.every((s) => s.status === 'completed' && s.output)).toBe(true);
  const all = await callsOf(stack.sim, id);
  const faults = new Set(all.filter((e) => e.outcome === 'fault').map((e) => e.fault));
  expect([...faults].sort()).toEqual(['overloaded', 'rateLimit', 'reset', 'server', 'streamError']);
  // Attempts in the document are Temporal's: a subtask whose calls faulted records more than one.
  for (const s of doc.subtasks) {
    const calls = all.filter((e) => e.activityType === 'runSubtask' && subtaskIdOf(e.lastUserText) === s.id);
    expect(s.attempts).toBe(calls.length);
    expect(calls.map((e) => e.attempt)).toEqual(calls.map((_, i) => i + 1));
  }
});

test('an unknown worker model (404) fails the job fast, without retries, naming the model', async () => {
  // Declared by the operator (RENGA_EXTRA_MODELS) but not served by the API: the 404 path.
  const rc = { ...stack.rc, config: { ...stack.rc.config, RENGA_EXTRA_MODELS: ['claude-nonexistent-9'] } };
  const id = await startJob(rc, {
    job: 'Name four planets',
    maxSubtasks: 4,
    concurrency: 1,
    workerModel: 'claude-nonexistent-9',
  });
  const cause = await workflowFailure(stack.client.workflow.getHandle(id));
  expect(cause.type).toBe('ModelNotFound');
  expect(cause.message).toContain("unknown model 'claude-nonexistent-9'");
  // One request, then the job stopped: no retries and no further subtasks tried.
  expect(await subtaskRequests(id)).toHaveLength(1);
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('failed');
  expect(doc.error).toMatch(/^ModelNotFound: /);
});

// A refusal of what every subtask sends alike (the model's context window, the request's size) would
// cost one call per subtask: it stops the fan-out like a 404 does.
describe('400/413 from the worker model', () => {
  beforeAll(async () => {
    // Its own worker, so these tests also run alone (-t); another one on the same queue changes nothing.
    await stack.startWorker();
  });

  test.each([
    ['tooLarge', /^RequestTooLarge: subtask s\d+ failed: HTTP 413: /],
    ['promptTooLong', /^InvalidRequest: subtask s\d+ failed: HTTP 400: prompt is too long/],
  ] as const)(
    'a shared %s refusal from the worker model stops the fan-out after the calls in flight',
    async (kind, error) => {
      const id = `shared-${kind}-${randomUUID()}`;
      stack.sim.script({ kind, match: { model: 'claude-haiku-4-5', workflowId: id }, times: 100 });
      await startJob(stack.rc, { job: 'Name eight rivers', maxSubtasks: 8, concurrency: 2 }, { workflowId: id });
      const doc = await getResult(stack.rc, id);

      expect(doc.status).toBe('failed');
      expect(doc.error).toMatch(error);
      // At most the calls already in flight when the first refusal came back: `concurrency`, not one per subtask.
      const calls = await subtaskRequests(id);
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(calls.length).toBeLessThanOrEqual(2);
      expect(calls.every((e) => e.fault === kind && e.attempt === 1)).toBe(true);
      expect(doc.subtasks.filter((s) => s.status === 'skipped').length).toBeGreaterThanOrEqual(6);
    },
  );

  test('a 400 about the messages of one subtask fails that subtask only', async () => {
    const id = `own-bad-request-${randomUUID()}`;
    stack.sim.script({ kind: 'badRequest', match: { textIncludes: 'Subtask s1 of', workflowId: id } });
    await startJob(stack.rc, { job: 'Name four rivers', maxSubtasks: 4, concurrency: 2 }, { workflowId: id });
    const doc = await getResult(stack.rc, id);
    expect(doc.status).toBe('partial');
    expect(doc.subtasks.map((s) => [s.id, s.status])).toEqual([
      ['s1', 'failed'],
      ['s2', 'completed'],
      ['s3', 'completed'],
      ['s4', 'completed'],
    ]);
    expect(doc.subtasks[0]!.error).toMatch(/^InvalidRequest: HTTP 400: messages: /);
  });
});

test('an invalid request (400) from the planner fails fast with no retries', async () => {
  const id = `bad-request-${randomUUID()}`;
  stack.sim.script({ kind: 'badRequest', match: { model: 'claude-sonnet-4-6', workflowId: id } });
  await startJob(stack.rc, { job: 'Plan a picnic', maxSubtasks: 2 }, { workflowId: id });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('failed');
  expect(doc.error).toMatch(/^InvalidRequest: planning failed: InvalidRequest: HTTP 400/);
  expect((await callsOf(stack.sim, id)).map((e) => [e.activityType, e.fault])).toEqual([['planJob', 'badRequest']]);
});

test('a stalled stream is abandoned by the idle watchdog and retried', async () => {
  const id = `stall-${randomUUID()}`;
  stack.sim.script({ kind: 'stall', match: { textIncludes: 'Subtask s1 of', workflowId: id } });
  await startJob(stack.rc, { job: 'Give two facts about otters', maxSubtasks: 2 }, { workflowId: id });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  const s1 = (await subtaskRequests(id)).filter((e) => subtaskIdOf(e.lastUserText) === 's1');
  expect(s1.map((e) => [e.attempt, e.fault])).toEqual([
    [1, 'stall'],
    [2, null],
  ]);
  expect(doc.subtasks[0]!.attempts).toBe(2);
});
