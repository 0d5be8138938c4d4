/**
 * batchWorkflow against a real dev server and the simulator: a 200-job batch with bounded
 * parallelism across continue-as-new, a failed job recorded without sinking the batch; and the
 * batch-api fan-out through the simulator's Message Batches endpoints, with the worker killed
 * mid-poll and a new one finishing the work.
 */
import { getBatchProgress, getBatchResult, startBatch } from '../client/batch';
import { getResult } from '../client/api';
import { costUsd, roundUsd } from '../shared/pricing';
import { batchesOf, callsOf } from './helpers/calls';
import { subtaskIdOf, waitUntil, useStack } from './helpers/stack';

const stack = useStack({}, { worker: false });

beforeEach(() => {
  stack.sim.configure({
    latencyMs: 0,
    faults: {},
    batches: { processingMs: 0, erroredIncludes: [], expiredIncludes: [] },
  });
});

test('a 200-job batch completes with bounded parallelism across continue-as-new; a failed job is recorded, not fatal', async () => {
  const worker = await stack.startWorker();
  const BAD_LINE = 137;
  const jobs = Array.from({ length: 200 }, (_, i) =>
    i + 1 === BAD_LINE
      ? { job: `Topic ${i + 1}: name two rivers`, maxSubtasks: 2, workerModel: 'claude-nonexistent-9' }
      : { job: `Topic ${i + 1}: name two rivers`, maxSubtasks: 2 },
  );
  const id = await startBatch(
    stack.rc,
    { name: 'two hundred', jobs, concurrency: 8, pageSize: 60 },
    { workflowId: 'batch-200' },
  );

  // Sample the live progress while it runs: never more than `concurrency` jobs at once.
  let samples = 0;
  let maxSeen = 0;
  await waitUntil(
    async () => {
      const p = await getBatchProgress(stack.rc, id).catch(() => null);
      if (!p) return false;
      samples++;
      maxSeen = Math.max(maxSeen, p.running);
      expect(p.running).toBeLessThanOrEqual(8);
      return p.done >= 150;
    },
    'three quarters of the jobs are done',
    170_000,
  );
  const r = await getBatchResult(stack.rc, id);

  expect(samples).toBeGreaterThan(0);
  expect(r.jobs).toBe(200);
  expect(r.counts).toEqual({ completed: 199, partial: 0, failed: 1, cancelled: 0 });
  expect(r.failures).toHaveLength(1);
  expect(r.failures[0]).toMatchObject({ line: BAD_LINE, workflowId: `batch-200-j${BAD_LINE}`, status: 'failed' });
  expect(r.failures[0]!.error).toMatch(/^ModelNotFound: .*unknown model 'claude-nonexistent-9'/);
  // 200 jobs in pages of at most 60: at least four runs chained by continue-as-new.
  expect(r.runs).toBeGreaterThanOrEqual(4);
  expect(r.peakRunning).toBeLessThanOrEqual(8);
  expect(r.peakRunning).toBeGreaterThanOrEqual(2);
  expect(r.outcomes.map((o) => o.line)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  const sum = roundUsd(r.outcomes.reduce((n, o) => n + o.costUsd, 0));
  expect(r.usage.costUsd).toBeCloseTo(sum, 5);
  expect(r.usage.costUsd).toBeGreaterThan(0);

  // Each job is its own workflow, linked to the batch as its parent.
  const child = await stack.client.workflow.getHandle('batch-200-j1').describe();
  expect(child.type).toBe('jobWorkflow');
  expect(child.parentExecution?.workflowId).toBe('batch-200');
  const doc = await getResult(stack.rc, 'batch-200-j1');
  expect(doc.status).toBe('completed');
  // Every job's plan went to the model once: no job ran twice across continue-as-new.
  // (Jobs are `batch-200-j<line>`: the prefix with the separator, so no other batch's jobs count.)
  const calls = await callsOf(stack.sim, `${id}-j`, { prefix: true });
  const plans = calls.filter((e) => e.activityType === 'planJob');
  expect(plans).toHaveLength(200);
  expect(new Set(plans.map((e) => e.workflowId)).size).toBe(200);
  console.log(
    `200-job batch: runs=${r.runs} peakRunning=${r.peakRunning} maxSampled=${maxSeen} cost=$${r.usage.costUsd} requests=${calls.length}`,
  );
  await worker.stop();
});

test('batch-api mode: subtasks go through Message Batches, survive a worker killed mid-poll, errored/expired items fall back to direct calls', async () => {
  stack.sim.configure({
    batches: { processingMs: 6_000, erroredIncludes: ['Subtask s2 of'], expiredIncludes: ['Subtask s3 of'] },
  });
  const first = await stack.spawnWorker();
  const jobs = [1, 2, 3].map((n) => ({ job: `Batch job ${n}: describe four kinds of clouds`, maxSubtasks: 4 }));
  const id = await startBatch(
    stack.rc,
    { name: 'via batches', jobs, concurrency: 3, mode: 'batch-api', batchPollSeconds: 1 },
    { workflowId: 'batch-api-1' },
  );

  // Mid-poll: all three message batches submitted, each polled at least once, none ended yet.
  const jobsOf = `${id}-j`;
  const batches = () => batchesOf(stack.sim, jobsOf, { prefix: true });
  await waitUntil(
    () => batches().length === 3 && batches().every((b) => b.retrieves >= 1),
    'every job has submitted and polled its batch',
  );
  expect(batches().every((b) => b.status === 'in_progress')).toBe(true);
  await first.kill('SIGKILL');
  await stack.spawnWorker();

  const r = await getBatchResult(stack.rc, id);
  expect(r.mode).toBe('batch-api');
  expect(r.counts).toEqual({ completed: 3, partial: 0, failed: 0, cancelled: 0 });

  // One message batch per job, never resubmitted after the kill; each was read to the end.
  expect(
    batches()
      .map((b) => b.workflowId)
      .sort(),
  ).toEqual([`${id}-j1`, `${id}-j2`, `${id}-j3`]);
  for (const b of batches()) {
    expect(b.customIds).toEqual(['s1', 's2', 's3', 's4']);
    expect(b.outcomes).toEqual({ s1: 'succeeded', s2: 'errored', s3: 'expired', s4: 'succeeded' });
    expect(b.resultsFetches).toBeGreaterThanOrEqual(1);
    expect(b.canceled).toBe(false);
  }
  // Direct calls only for the errored and expired items: s2 and s3 of each job, once each.
  const direct = (await callsOf(stack.sim, jobsOf, { prefix: true })).filter(
    (e) => e.path === '/v1/messages' && e.activityType === 'runSubtask',
  );
  expect(direct.map((e) => subtaskIdOf(e.lastUserText)).sort()).toEqual(['s2', 's2', 's2', 's3', 's3', 's3']);

  // Batched subtasks are billed at half price, fallbacks at the full price.
  let batchedCost = 0;
  let directCost = 0;
  for (const o of r.outcomes) {
    const doc = await getResult(stack.rc, o.workflowId);
    expect(doc.subtasks.map((s) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    for (const s of doc.subtasks) {
      const full = costUsd(s.model, s.usage);
      if (s.id === 's1' || s.id === 's4') {
        expect(costUsd(s.model, s.usage, { batch: true })).toBeCloseTo(full / 2, 6);
        batchedCost += costUsd(s.model, s.usage, { batch: true });
      } else {
        directCost += full;
      }
    }
    const haiku = doc.usage.byModel['claude-haiku-4-5']!;
    const expected = doc.subtasks.reduce(
      (n, s) => n + costUsd(s.model, s.usage, { batch: s.id === 's1' || s.id === 's4' }),
      0,
    );
    expect(haiku.costUsd).toBeCloseTo(expected, 5);
  }
  console.log(
    `batch-api: batched subtasks $${roundUsd(batchedCost)} (half price), fallbacks $${roundUsd(directCost)}, total $${r.usage.costUsd}`,
  );
});
