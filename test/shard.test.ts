/**
 * Sharded fan-out (workflows/shard.ts): a plan larger than `shardSize` runs through child
 * workflows, outputs go to the blob store, and the parent's history and result stay small.
 * The shard size is lowered so 1,200 subtasks make three shards.
 */
import path from 'node:path';
import { getResult, startJob } from '../client/api';
import { BlobStore } from '../activities/blob-store';
import { ResultDocumentSchema, SubtaskResultSchema, type SubtaskResult } from '../shared/schemas';
import { okCallsOf } from './helpers/calls';
import { subtaskIdOf, useStack } from './helpers/stack';

const stack = useStack();

test('1,200 subtasks with shardSize 500 run as three child workflows; every output is stored once and the result stays compact', async () => {
  // One answer longer than the shard's preview: only it goes to the blob store by itself.
  stack.sim.scriptAnswer({ match: { textIncludes: 'Subtask s777 of 1200:' }, lengthTokens: 400 });
  const id = await startJob(stack.rc, {
    job: 'Write one line about each of many numbers',
    maxSubtasks: 1200,
    concurrency: 50,
    shardSize: 500,
  });
  const doc = await getResult(stack.rc, id);

  expect(ResultDocumentSchema.parse(doc)).toEqual(doc);
  expect({ status: doc.status, error: doc.error }).toEqual({ status: 'completed', error: null });
  expect(doc.answer).toBeTruthy();
  // Completed subtasks are counted per shard, not listed: the full list lives in the blob store.
  expect(doc.plan).toBeNull();
  expect(doc.subtasks).toEqual([]);
  expect(doc.shards!.map((s) => [s.first, s.last, s.completed, s.failed, s.skipped])).toEqual([
    ['s1', 's500', 500, 0, 0],
    ['s501', 's1000', 500, 0, 0],
    ['s1001', 's1200', 200, 0, 0],
  ]);

  // Each subtask was asked of the model exactly once.
  const ok = await okCallsOf(stack.sim, id);
  const served = new Map<string, string>();
  for (const e of ok) {
    const sid = subtaskIdOf(e.lastUserText);
    if (sid === null) continue;
    expect(served.has(sid)).toBe(false);
    served.set(sid, e.responseText!);
    // Asked by the shard that owns it: s1–s500 by shard 1, s501–s1000 by shard 2, the rest by shard 3.
    expect(e.workflowId).toBe(`${id}/shard-${Math.ceil(Number(sid.slice(1)) / 500)}`);
  }
  expect(served.size).toBe(1200);

  // The shard results in the blob store hold every subtask with the full output: behind its ref, or
  // inline when the whole answer fits the preview (then nothing else was stored).
  const blobs = new BlobStore(path.join(stack.tmpDir, 'blobs'));
  const all: SubtaskResult[] = [];
  for (const shard of doc.shards!) {
    const text = await blobs.get(shard.resultsRef!);
    all.push(...(JSON.parse(text!) as unknown[]).map((r) => SubtaskResultSchema.parse(r)));
  }
  expect(all.map((r) => r.id)).toEqual(Array.from({ length: 1200 }, (_, i) => `s${i + 1}`));
  for (const r of [all[0]!, all[776]!, all[1199]!]) {
    expect(r.status).toBe('completed');
    expect(r.outputRef ? await blobs.get(r.outputRef) : r.output).toBe(served.get(r.id));
  }
  const long = all[776]!;
  expect(long.id).toBe('s777');
  expect(long.output!.length).toBeLessThan(served.get('s777')!.length);
  expect(long.outputRef).toBeDefined();
  expect(all[0]!.outputRef).toBeUndefined();

  // Usage adds up over the shards: one call per subtask plus plan and synthesis.
  const haiku = doc.usage.byModel['claude-haiku-4-5']!;
  const servedHaiku = ok.filter((e) => e.model === 'claude-haiku-4-5');
  expect(haiku.outputTokens).toBe(servedHaiku.reduce((n, e) => n + e.usage!.output_tokens, 0));

  // The parent's history holds three child runs, not 1,200 activities.
  const parent = await stack.client.workflow.getHandle(id).describe();
  expect(parent.historyLength).toBeLessThan(100);
  const child = await stack.client.workflow.getHandle(`${id}/shard-1`).describe();
  expect(child.status.name).toBe('COMPLETED');
});
