/**
 * Guarantee 2: stop and restart the dev server on its database file; unfinished jobs resume. It also
 * measures what the README promises about paying twice: a subtask whose completion the server had
 * recorded is never asked again; only calls in flight across the restart (at most 2 × `concurrency` with
 * queue-ahead lanes) may be.
 */
import path from 'node:path';
import { getResult, startJob } from '../client/api';
import { progressQuery } from '../workflows/definitions';
import { okCallsOf } from './helpers/calls';
import { subtaskIdOf, waitUntil, useStack } from './helpers/stack';
import os from 'node:os';
import { mkdtempSync } from 'node:fs';

const dbFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'renga-db-')), 'temporal.db');

const stack = useStack({ server: { dbFile }, sim: { latencyMs: { 'claude-haiku-4-5': 700 } } });

test('a job in flight when the dev server restarts completes afterwards', async () => {
  const concurrency = 1;
  const id = await startJob(stack.rc, {
    job: 'Write five riddles about clocks',
    maxSubtasks: 5,
    concurrency,
    heartbeatTimeoutSeconds: 5,
  });
  const handle = stack.client.workflow.getHandle(id);
  const before = await waitUntil(async () => {
    const p = await handle.query(progressQuery);
    return p.completed >= 1 ? p : undefined;
  }, 'a subtask has finished');
  // What the query shows as completed is recorded in the server's history.
  const recorded = before.subtasks.filter((s) => s.state === 'completed').map((s) => s.id);

  const pidBefore = stack.server.pid;
  await stack.server.restart();
  expect(stack.server.pid).not.toBe(pidBefore);

  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(doc.subtasks.map((s) => s.status)).toEqual(Array(5).fill('completed'));
  // Every subtask's answer is one the simulator served for that subtask.
  const ok = (await okCallsOf(stack.sim, id)).filter((e) => e.activityType === 'runSubtask');
  const paidFor = (sid: string) => ok.filter((e) => subtaskIdOf(e.lastUserText) === sid);
  for (const s of doc.subtasks) expect(paidFor(s.id).map((e) => e.responseText)).toContain(s.output);

  // Paid twice: a subtask answered in full more than once. Never one the server had recorded; at most
  // the calls in flight while it was down, whose completion it could not record.
  for (const sid of recorded) expect(paidFor(sid)).toHaveLength(1);
  const paidTwice = doc.subtasks.filter((s) => paidFor(s.id).length > 1).map((s) => s.id);
  expect(paidTwice.filter((sid) => recorded.includes(sid))).toEqual([]);
  const repaid = ok.length - doc.subtasks.length;
  // Two per slot with queue-ahead (the default): the call whose completion could not be recorded, and the
  // call queued behind it, which starts when that answer arrives (docs/architecture.md, "Guarantees").
  expect(repaid).toBeLessThanOrEqual(2 * concurrency);
  expect(paidTwice.length).toBe(repaid);
  // The figure the README quotes (a few in a run; here the one call in flight, if it finished while the server was down).
  console.log(`restart: ${repaid} of ${ok.length} subtask calls paid again (${recorded.length} recorded before it)`);
});
