/**
 * Many workers on one task queue: three worker processes share a 300-subtask job, work spreads over
 * all of them (counted per worker identity from the history), and one killed mid-job loses nothing.
 */
import { temporal } from '@temporalio/proto';
import path from 'node:path';
import { connect, getResult, startJob } from '../client/api';
import { loadClientConfig } from '../shared/config';
import { progressQuery } from '../workflows/definitions';
import { callsOf } from './helpers/calls';
import { subtaskIdOf, useStack, waitUntil } from './helpers/stack';

const stack = useStack({}, { worker: false });

test('three worker processes share a 300-subtask job; killing one mid-job loses nothing', async () => {
  stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 150 } });
  // A 300-subtask result document is over the offload threshold: workers and client share the payload directory.
  const env = { RENGA_PAYLOAD_DIR: path.join(stack.tmpDir, 'payloads') };
  const rc = await connect({
    ...loadClientConfig(env),
    TEMPORAL_ADDRESS: stack.server.address,
    TEMPORAL_NAMESPACE: stack.server.namespace,
    RENGA_TASK_QUEUE: stack.taskQueue,
  });
  const workers = [await stack.spawnWorker(env), await stack.spawnWorker(env), await stack.spawnWorker(env)];
  const id = await startJob(rc, {
    job: 'Write one line about each of three hundred towns',
    maxSubtasks: 300,
    concurrency: 24,
    // One history holds every activity, so the per-worker count reads one run.
    shardSize: 300,
    heartbeatTimeoutSeconds: 5,
  });
  const handle = stack.client.workflow.getHandle(id);
  const before = await waitUntil(async () => {
    const p = await handle.query(progressQuery);
    return p.completed >= 60 && p.running > 0 ? p : undefined;
  }, 'sixty subtasks are finished and more are in flight');
  const finishedBeforeKill = before.subtasks.filter((s) => s.state === 'completed');
  await workers[0]!.kill('SIGKILL');

  const doc = await getResult(rc, id).finally(() => rc.close());
  expect(doc.status).toBe('completed');
  expect(doc.subtasks).toHaveLength(300);
  expect(doc.subtasks.every((s) => s.status === 'completed')).toBe(true);

  // Nothing finished was lost: a subtask finished before the kill was asked of the model no more
  // often than it had been by then (once, or again only if a starved worker missed a heartbeat).
  const requests = new Map<string, number>();
  for (const e of await callsOf(stack.sim, id)) {
    const sid = e.activityType === 'runSubtask' ? subtaskIdOf(e.lastUserText) : null;
    if (sid) requests.set(sid, (requests.get(sid) ?? 0) + 1);
  }
  for (const s of finishedBeforeKill) expect([s.id, requests.get(s.id)]).toEqual([s.id, s.attempts]);

  // Work spread: completed subtask activities per worker identity, from the history.
  const history = await handle.fetchHistory();
  const EventType = temporal.api.enums.v1.EventType;
  const startedBy = new Map<number, string>();
  const perWorker = new Map<string, number>();
  for (const e of history.events ?? []) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
      startedBy.set(Number(e.eventId), e.activityTaskStartedEventAttributes?.identity ?? '?');
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const done = e.activityTaskCompletedEventAttributes;
      // A queued-ahead call that started on another worker than the call it followed hands itself
      // back unmade and is sent again (workflows/queue-ahead.ts): not a completed call.
      const result = Buffer.from(done?.result?.payloads?.[0]?.data ?? []).toString('utf8');
      if (result.includes('"deferred":true')) continue;
      const who = startedBy.get(Number(done?.startedEventId)) ?? '?';
      perWorker.set(who, (perWorker.get(who) ?? 0) + 1);
    }
  }
  const pids = workers.map((w) => w.child.pid!);
  const counts = pids.map((pid) =>
    [...perWorker].filter(([who]) => who.startsWith(`${pid}@`)).reduce((n, [, c]) => n + c, 0),
  );
  console.log(`activities completed per worker process (killed first): ${counts.join(', ')}`);
  expect(counts.every((c) => c > 0)).toBe(true);
  // 300 subtasks plus plan and synthesis, every one completed by one of the three.
  expect(counts.reduce((a, b) => a + b, 0)).toBe(302);
});
