/** Guarantee 2: stop and restart the dev server on its database file; unfinished jobs resume. */
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
  const id = await startJob(stack.rc, {
    job: 'Write five riddles about clocks',
    maxSubtasks: 5,
    concurrency: 1,
    heartbeatTimeoutSeconds: 5,
  });
  const handle = stack.client.workflow.getHandle(id);
  await waitUntil(async () => (await handle.query(progressQuery)).completed >= 1, 'a subtask has finished');

  const pidBefore = stack.server.pid;
  await stack.server.restart();
  expect(stack.server.pid).not.toBe(pidBefore);

  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(doc.subtasks.map((s) => s.status)).toEqual(Array(5).fill('completed'));
  // Every subtask's answer is one the simulator served for that subtask.
  const ok = await okCallsOf(stack.sim, id);
  for (const s of doc.subtasks) {
    const served = ok.filter((e) => subtaskIdOf(e.lastUserText) === s.id).map((e) => e.responseText);
    expect(served).toContain(s.output);
  }
});
