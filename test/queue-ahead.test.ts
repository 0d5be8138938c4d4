/**
 * Queue-ahead lanes on a real stack (workflows/queue-ahead.ts, activities/handoffs.ts): a lane's next
 * call is scheduled while the one before it runs and starts on the worker the moment it ends, yet a
 * job never has more calls at the API than its concurrency, on one worker or on two. The simulator
 * counts each job's requests in flight; the history shows which calls followed another and how each
 * ended. The slot and handoff rules themselves: test/lanes.test.ts.
 */
import type { temporal } from '@temporalio/proto';
import { getResult, startJob } from '../client/api';
import type { InProcessWorker } from './helpers/stack';
import { okCallsOf, settled } from './helpers/calls';
import { subtaskIdOf, useStack } from './helpers/stack';

const stack = useStack({}, { worker: false });
let workers: InProcessWorker[] = [];

beforeAll(() => stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 200 } }));
afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
});

const text = (data: Uint8Array | null | undefined) => (data ? Buffer.from(data).toString('utf8') : '');

/** The job's subtask calls from its history: those scheduled behind another call, and how they ended. */
async function callsBehind(id: string): Promise<{ behind: number; ranBehind: number; handedBack: number }> {
  const events: temporal.api.history.v1.IHistoryEvent[] =
    (await stack.client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const behind = new Set<number>();
  let ranBehind = 0;
  let handedBack = 0;
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'runSubtask' && text(s.input?.payloads?.[0]?.data).includes('"after":')) {
      behind.add(Number(e.eventId));
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c && behind.has(Number(c.scheduledEventId))) {
      if (text(c.result?.payloads?.[0]?.data).includes('"deferred":true')) handedBack++;
      else ranBehind++;
    }
  }
  return { behind: behind.size, ranBehind, handedBack };
}

/** Each subtask was asked of the model exactly once. */
async function askedOnce(id: string, subtasks: number): Promise<void> {
  await settled(stack.sim, id);
  const asked = new Map<string, number>();
  for (const e of await okCallsOf(stack.sim, id)) {
    const sid = e.activityType === 'runSubtask' ? subtaskIdOf(e.lastUserText) : null;
    if (sid) asked.set(sid, (asked.get(sid) ?? 0) + 1);
  }
  expect(asked.size).toBe(subtasks);
  expect([...asked.values()].every((n) => n === 1)).toBe(true);
}

test('one worker: calls queued ahead start when the call before them ends, never more than concurrency at once', async () => {
  workers = [await stack.startWorker()];
  const id = await startJob(stack.rc, { job: 'Name twelve mountain passes', maxSubtasks: 12, concurrency: 3 });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(doc.subtasks.map((s) => s.status)).toEqual(Array(12).fill('completed'));
  await askedOnce(id, 12);
  expect(stack.sim.peakInFlight(id)).toBeLessThanOrEqual(3);
  const calls = await callsBehind(id);
  // Lanes 4–6 start behind lanes 1–3, and every later call behind the one running in its slot.
  expect(calls.behind).toBeGreaterThanOrEqual(3);
  expect(calls.ranBehind).toBeGreaterThanOrEqual(1);
  expect(calls.ranBehind + calls.handedBack).toBe(calls.behind);
});

test('two workers: at most concurrency calls at once; each call queued ahead ran behind its predecessor or was handed back and sent again', async () => {
  // Two workers in one process, each with its own activities: to a queued-ahead call, two processes.
  workers = [await stack.startWorker(), await stack.startWorker()];
  const id = await startJob(stack.rc, { job: 'Name sixteen lighthouses', maxSubtasks: 16, concurrency: 2 });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(doc.subtasks.every((s) => s.status === 'completed' && s.attempts === 1)).toBe(true);
  await askedOnce(id, 16);
  expect(stack.sim.peakInFlight(id)).toBeLessThanOrEqual(2);
  const calls = await callsBehind(id);
  expect(calls.ranBehind + calls.handedBack).toBe(calls.behind);
});

test('queueAhead: false schedules no call behind another', async () => {
  workers = [await stack.startWorker()];
  const id = await startJob(stack.rc, { job: 'Name four rivers', maxSubtasks: 4, concurrency: 2, queueAhead: false });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(stack.sim.peakInFlight(id)).toBeLessThanOrEqual(2);
  expect((await callsBehind(id)).behind).toBe(0);
});
