/**
 * Rate-limit admission (activities/admission.ts, workflows/rate-limiter.ts) on a real stack: the
 * simulator enforces per-family token buckets with 429 + retry-after, and two worker PROCESSES share
 * one limiter workflow. Pace is checked from the simulator's own accounting (its shadow bucket, which
 * also charges refused requests), never from timing.
 */
import { getResult, startJob } from '../client/api';
import type { RequestLogEntry } from '../simulator/types';
import { limiterStateQuery, rateLimiterWorkflowId } from '../workflows/rate-limiter-definitions';
import { belongsTo, settled } from './helpers/calls';
import { runCli, useStack, waitUntil } from './helpers/stack';

const WORKER = 'claude-haiku-4-5';
/** Buckets hold 3 s of refill: the API enforces per-minute limits over short intervals too. */
const BURST_SECONDS = 3;

const stack = useStack(
  {
    sim: {
      latencyMs: { [WORKER]: 150 },
      rateLimits: { families: { haiku: { rpm: 60 } }, burstSeconds: BURST_SECONDS },
    },
  },
  { worker: false },
);

beforeAll(async () => {
  await Promise.all([stack.spawnWorker(), stack.spawnWorker()]);
});

/** The calls job `id` made to the worker model so far, in arrival order (by workflow id, never by prompt text). */
const workerCallsOf = (id: string): RequestLogEntry[] =>
  stack.sim.log.filter((e) => e.model === WORKER && belongsTo(e.workflowId, id));

/** The same, once none of the job's calls is still in flight (an aborted call has its final entry). */
async function settledWorkerCallsOf(id: string): Promise<RequestLogEntry[]> {
  await settled(stack.sim, id);
  return workerCallsOf(id);
}

const refusedShare = (calls: RequestLogEntry[]): number => calls.filter((e) => e.status === 429).length / calls.length;

test('40 subtasks at concurrency 20 on two worker processes complete within 60 RPM, with under 5 % 429s', async () => {
  stack.sim.setRateLimits({ families: { haiku: { rpm: 60 } }, burstSeconds: BURST_SECONDS });
  const job = 'Rate A: one line about each of forty rivers';
  const id = await startJob(stack.rc, { job, maxSubtasks: 40, concurrency: 20 });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(doc.subtasks.filter((s) => s.status === 'completed')).toHaveLength(40);

  const calls = await settledWorkerCallsOf(id);
  expect(calls.filter((e) => e.outcome === 'ok')).toHaveLength(40);
  expect(refusedShare(calls)).toBeLessThan(0.05);
  // The simulator's shadow bucket is charged for every arrival, refused or not: had the workers run
  // ahead of 60 RPM (each pacing alone would be twice that), it would have gone far below zero.
  expect(Math.min(...calls.map((e) => e.rateLimitShadow!))).toBeGreaterThanOrEqual(-2);

  // Both worker processes ran subtasks: the pace above is their sum.
  const history = await stack.client.workflow.getHandle(id).fetchHistory();
  const identities = new Set(
    (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.identity)
      .filter((x): x is string => typeof x === 'string'),
  );
  expect(identities.size).toBe(2);
});

test('limits lowered mid-job: renga follows within a few calls', async () => {
  stack.sim.setRateLimits({ families: { haiku: { rpm: 120 } }, burstSeconds: BURST_SECONDS });
  const job = 'Rate B: one line about each of twenty mountains';
  const id = await startJob(stack.rc, { job, maxSubtasks: 20, concurrency: 10 });
  await waitUntil(() => workerCallsOf(id).filter((e) => e.outcome === 'ok').length >= 6, 'six subtasks were served');
  const changedAt = stack.sim.log.length;
  stack.sim.setRateLimits({ families: { haiku: { rpm: 40 } }, burstSeconds: BURST_SECONDS });

  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  const after = (await settledWorkerCallsOf(id)).filter((e) => e.seq > changedAt);
  expect(after.length).toBeGreaterThan(0);
  const refusedAt = after.map((e, i) => (e.status === 429 ? i : -1)).filter((i) => i >= 0);
  // At most the calls already admitted under the old limit can run into the new one.
  expect(refusedAt.length).toBeLessThanOrEqual(3);
  expect(refusedAt.every((i) => i < 6)).toBe(true);
  expect(Math.min(...after.map((e) => e.rateLimitShadow!))).toBeGreaterThanOrEqual(-3);
});

test('a small job sharing the key with a large one finishes without waiting for it (round-robin by job)', async () => {
  stack.sim.setRateLimits({ families: { haiku: { rpm: 60 } }, burstSeconds: BURST_SECONDS });
  const large = 'Rate C: one line about each of thirty lakes';
  const small = 'Rate D: two lines about owls';
  const largeId = await startJob(stack.rc, { job: large, maxSubtasks: 30, concurrency: 30 });

  // Wait until the large job has a queue at the shared limiter, then start the small one behind it.
  const limiter = stack.client.workflow.getHandle(rateLimiterWorkflowId(stack.taskQueue));
  await waitUntil(async () => {
    // Not started yet (the first call creates it) or busy: ask again.
    const state = await limiter.query(limiterStateQuery).catch(() => null);
    if (!state) return false;
    return (state.waitingByJob[largeId] ?? 0) >= 15;
  }, 'the large job has 15 calls waiting for admission');
  const status = await runCli(stack, ['status', largeId]);
  expect(status.stdout).toMatch(/waiting on the rate limit: \d+ calls? \(haiku/);

  const servedBefore = workerCallsOf(largeId).filter((e) => e.outcome === 'ok').length;
  const smallId = await startJob(stack.rc, { job: small, maxSubtasks: 2, concurrency: 2 });
  const smallDoc = await getResult(stack.rc, smallId);
  expect(smallDoc.status).toBe('completed');

  // Ordering, not time: when the small job's answer was served, most of the large job was still queued.
  const smallSynthesis = stack.sim.log.find(
    (e) => e.outcome === 'ok' && e.activityType === 'synthesize' && belongsTo(e.workflowId, smallId),
  )!;
  const largeServedBeforeSmallDone = workerCallsOf(largeId).filter(
    (e) => e.outcome === 'ok' && e.seq < smallSynthesis.seq,
  );
  expect(largeServedBeforeSmallDone.length).toBeLessThanOrEqual(servedBefore + 6);
  expect(largeServedBeforeSmallDone.length).toBeLessThan(30);

  const largeDoc = await getResult(stack.rc, largeId);
  expect(largeDoc.status).toBe('completed');
  expect(refusedShare(await settledWorkerCallsOf(largeId))).toBeLessThan(0.05);
});

test('the limiter workflow terminated mid-job: waiting calls move to a new limiter and the job completes', async () => {
  stack.sim.setRateLimits({ families: { haiku: { rpm: 60 } }, burstSeconds: BURST_SECONDS });
  const job = 'Rate E: one line about each of sixteen islands';
  const id = await startJob(stack.rc, { job, maxSubtasks: 16, concurrency: 16 });
  const limiter = stack.client.workflow.getHandle(rateLimiterWorkflowId(stack.taskQueue));
  await waitUntil(async () => {
    const state = await limiter.query(limiterStateQuery).catch(() => null);
    return (state?.waitingByJob[id] ?? 0) >= 8;
  }, 'the job has 8 calls waiting for admission');
  const lost = await limiter.describe();
  await limiter.terminate('test: the limiter is lost');

  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(doc.subtasks.filter((s) => s.status === 'completed')).toHaveLength(16);
  // A new limiter run took over (the first exchange after the loss started it).
  const now = await limiter.describe();
  expect(now.runId).not.toBe(lost.runId);
  expect(refusedShare(await settledWorkerCallsOf(id))).toBeLessThan(0.1);
});
