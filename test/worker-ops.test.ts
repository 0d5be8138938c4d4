/**
 * Worker operations on a real dev server with a real worker process: Prometheus metrics from the
 * Temporal runtime, JSON logs carrying workflow/activity ids, rate-limit options accepted, and a
 * SIGTERM drain that lets in-flight subtasks finish instead of re-running them elsewhere.
 */
import { getResult, startJob } from '../client/api';
import { freePort } from '../temporal/dev-server';
import { progressQuery } from '../workflows/definitions';
import { callsOf } from './helpers/calls';
import { subtaskIdOf, waitUntil, useStack } from './helpers/stack';

const stack = useStack({}, { worker: false });

test('metrics on a port, JSON logs with ids, and SIGTERM drains in-flight subtasks to completion', async () => {
  const metricsPort = await freePort();
  stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 1500 } });
  const first = await stack.spawnWorker({
    RENGA_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    RENGA_LOG_FORMAT: 'json',
    RENGA_SHUTDOWN_GRACE_SECONDS: '60',
    RENGA_MAX_ACTIVITIES_PER_SECOND: '50',
    RENGA_TASK_QUEUE_ACTIVITIES_PER_SECOND: '100',
    RENGA_MAX_WORKFLOW_TASKS: '10',
  });
  const id = await startJob(stack.rc, { job: 'Name four rivers and describe each', maxSubtasks: 4, concurrency: 4 });
  const handle = stack.client.workflow.getHandle(id);
  const inFlight = await waitUntil(async () => {
    const p = await handle.query(progressQuery);
    return p.running >= 2 && p.completed === 0 ? p : undefined;
  }, 'subtasks are in flight');
  const running = inFlight.subtasks.filter((s) => s.state === 'running').map((s) => s.id);

  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toMatch(/^temporal_\w+/m);
  expect(metrics).toContain(`task_queue="${stack.taskQueue}"`);

  // Drain: the process stops polling, lets running model calls finish, then exits by itself.
  await first.kill('SIGTERM');
  expect(first.child.exitCode).toBe(0);
  stack.sim.configure({ latencyMs: 0 });
  await stack.spawnWorker();
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  const calls = await callsOf(stack.sim, id);
  const requests = (sid: string) =>
    calls.filter((e) => e.activityType === 'runSubtask' && subtaskIdOf(e.lastUserText) === sid).length;
  for (const sid of running) expect(requests(sid)).toBe(1);

  const logs = first
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const done = logs.filter((l) => l.msg === 'activity completed' && l.workflowId === id);
  expect(done.length).toBeGreaterThanOrEqual(running.length + 1);
  for (const l of done) {
    expect(typeof l.activityId).toBe('string');
    expect(typeof l.activityType).toBe('string');
    expect(typeof l.ts).toBe('string');
  }
  expect(logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('renga worker on '))).toBe(true);
});
