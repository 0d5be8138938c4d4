/**
 * Cancel in every phase, both ways: `renga cancel` (the cancel signal) and a Temporal cancel
 * request (`handle.cancel()`, what the Web UI and `temporal workflow cancel` send). Whichever way
 * and whenever, the job returns its document with every finished subtask and status `cancelled`,
 * and `renga result --json` shows it. The simulator's scripted stalls hold a phase open until the
 * cancel arrives, so nothing depends on timing.
 */
import path from 'node:path';
import { cancelJob, getResult, startJob } from '../client/api';
import { BlobStore } from '../activities/blob-store';
import { ResultDocumentSchema, SubtaskResultSchema, type JobInputArg, type ResultDocument } from '../shared/schemas';
import { progressQuery } from '../workflows/definitions';
import { okCallsOf } from './helpers/calls';
import { runCli, subtaskIdOf, useStack, waitUntil } from './helpers/stack';

const stack = useStack();

type Way = 'renga cancel' | 'Temporal cancel';
type Phase = 'planning' | 'approval wait' | 'fan-out' | 'synthesis' | 'sharded fan-out';

let seq = 0;

/** Holds every matching call open (the worker's idle watchdog retries it; every retry stalls too). */
function stall(textIncludes: string): void {
  stack.sim.script({ kind: 'stall', match: { textIncludes }, times: 50 });
}

/** The job text ends with a unique marker; `<marker>\n</job>\n<call text>` matches one call kind of one job. */
async function startIn(phase: Phase): Promise<{ id: string; marker: string }> {
  const marker = `cancel-${process.pid}-${++seq}`;
  const job = `Write short notes about harbours ${marker}`;
  const after = (text: string) => `${marker}\n</job>\n${text}`;
  const input: JobInputArg = { job, maxSubtasks: 3, concurrency: 1 };
  if (phase === 'planning') stall(after('Plan the job above'));
  if (phase === 'approval wait') input.approvePlan = true;
  if (phase === 'fan-out') stall(after('Subtask s2 of'));
  if (phase === 'synthesis') stall(after('<result id="s1"'));
  if (phase === 'sharded fan-out') {
    Object.assign(input, { maxSubtasks: 4, shardSize: 2, concurrency: 2 });
    stall(after('Subtask s2 of'));
    stall(after('Subtask s4 of'));
  }
  const id = await startJob(stack.rc, input);
  const handle = stack.client.workflow.getHandle(id);
  const completedIn = async (wid: string) => {
    // Not found until the parent has started the shard.
    const history = await stack.client.workflow
      .getHandle(wid)
      .fetchHistory()
      .catch(() => null);
    return (history?.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes).length;
  };
  if (phase === 'planning') {
    await waitUntil(async () => {
      const d = await handle.describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'planJob' && (a.attempt ?? 0) >= 1);
    }, 'the plan call is running');
  } else if (phase === 'approval wait') {
    await waitUntil(async () => (await handle.query(progressQuery)).phase === 'awaiting-approval', 'awaiting approval');
  } else if (phase === 'fan-out') {
    await waitUntil(async () => {
      const p = await handle.query(progressQuery);
      return p.completed === 1 && p.running === 1;
    }, 's1 done, s2 running');
  } else if (phase === 'synthesis') {
    await waitUntil(async () => (await handle.query(progressQuery)).phase === 'synthesizing', 'synthesizing');
  } else {
    // Each shard's first subtask finished (s1, s3); the second of each stalls.
    await waitUntil(
      async () => (await completedIn(`${id}/shard-1`)) >= 1 && (await completedIn(`${id}/shard-2`)) >= 1,
      'one subtask finished in each shard',
    );
  }
  return { id, marker };
}

async function cancel(way: Way, id: string): Promise<void> {
  if (way === 'Temporal cancel') {
    await stack.client.workflow.getHandle(id).cancel();
    return;
  }
  const r = await runCli(stack, ['cancel', id, '--reason', 'test']);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(`cancel requested for ${id}\n`);
  expect(r.code).toBe(0);
}

/** What the simulator served for this job's subtask (its shards' calls included), or undefined. */
async function served(id: string, sid: string): Promise<string | undefined> {
  const ok = await okCallsOf(stack.sim, id);
  return (
    ok.find((e) => e.activityType === 'runSubtask' && subtaskIdOf(e.lastUserText) === sid)?.responseText ?? undefined
  );
}

const cases: [Phase, Way][] = (
  ['planning', 'approval wait', 'fan-out', 'synthesis', 'sharded fan-out'] as const
).flatMap((p) => (['renga cancel', 'Temporal cancel'] as const).map((w): [Phase, Way] => [p, w]));

test.each(cases)('cancel during %s via %s returns the document with every finished subtask', async (phase, way) => {
  const { id } = await startIn(phase);
  await cancel(way, id);

  // `renga result --json` shows the document whichever way the job was cancelled.
  const r = await runCli(stack, ['result', id, '--json']);
  expect(r.code).toBe(1);
  const doc: ResultDocument = ResultDocumentSchema.parse(JSON.parse(r.stdout));
  expect(doc).toEqual(await getResult(stack.rc, id));
  expect(doc.status).toBe('cancelled');
  expect(doc.error).toBe(way === 'renga cancel' ? 'test' : 'cancel requested');
  expect(doc.answer).toBeNull();
  // The run completed (returning the document), even after a Temporal cancel request.
  expect((await stack.client.workflow.getHandle(id).describe()).status.name).toBe('COMPLETED');

  const statuses = () => doc.subtasks.map((s) => [s.id, s.status]);
  if (phase === 'planning') {
    expect(doc.plan).toBeNull();
    expect(doc.subtasks).toEqual([]);
  } else if (phase === 'approval wait') {
    expect(doc.plan!.subtasks).toHaveLength(3);
    expect(statuses()).toEqual([
      ['s1', 'skipped'],
      ['s2', 'skipped'],
      ['s3', 'skipped'],
    ]);
    expect(doc.usage.costUsd).toBeGreaterThan(0);
  } else if (phase === 'fan-out') {
    expect(statuses()).toEqual([
      ['s1', 'completed'],
      ['s2', 'skipped'],
      ['s3', 'skipped'],
    ]);
    expect(doc.subtasks[0]!.output).toBe(await served(id, 's1'));
  } else if (phase === 'synthesis') {
    expect(statuses()).toEqual([
      ['s1', 'completed'],
      ['s2', 'completed'],
      ['s3', 'completed'],
    ]);
    for (const s of doc.subtasks) expect(s.output).toBe(await served(id, s.id));
  } else {
    expect(doc.shards!.map((s) => [s.first, s.last, s.completed, s.failed, s.skipped])).toEqual([
      ['s1', 's2', 1, 0, 1],
      ['s3', 's4', 1, 0, 1],
    ]);
    // The finished outputs are kept in the shards' results, as the simulator served them.
    const blobs = new BlobStore(path.join(stack.tmpDir, 'blobs'));
    const all = [];
    for (const shard of doc.shards!) {
      all.push(
        ...(JSON.parse((await blobs.get(shard.resultsRef!))!) as unknown[]).map((x) => SubtaskResultSchema.parse(x)),
      );
    }
    expect(all.map((s) => [s.id, s.status])).toEqual([
      ['s1', 'completed'],
      ['s2', 'skipped'],
      ['s3', 'completed'],
      ['s4', 'skipped'],
    ]);
    for (const s of all.filter((x) => x.status === 'completed'))
      expect(s.outputRef ? await blobs.get(s.outputRef) : s.output).toBe(await served(id, s.id));
  }
});

test('renga cancel --synthesize during synthesis lets the synthesis finish; status cancelled, answer kept', async () => {
  const marker = `cancel-${process.pid}-${++seq}`;
  const id = await startJob(stack.rc, { job: `Describe three lighthouses ${marker}`, maxSubtasks: 2 });
  // The synthesis stalls twice, then answers (the worker's idle watchdog retries it).
  stack.sim.script({ kind: 'stall', match: { textIncludes: `${marker}\n</job>\n<result id="s1"` }, times: 2 });
  const handle = stack.client.workflow.getHandle(id);
  await waitUntil(async () => (await handle.query(progressQuery)).phase === 'synthesizing', 'synthesizing');
  await cancelJob(stack.rc, id, { synthesize: true });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('cancelled');
  const synth = (await okCallsOf(stack.sim, id)).filter((e) => e.activityType === 'synthesize');
  expect(synth).toHaveLength(1);
  expect(doc.answer).toBe(synth[0]!.responseText);
  expect(doc.subtasks.map((s) => s.status)).toEqual(['completed', 'completed']);
});

test('cancelling a finished job says it already finished; an unknown id says no such job', async () => {
  const id = await startJob(stack.rc, { job: 'Name two islands', maxSubtasks: 1 });
  await getResult(stack.rc, id);
  const r = await runCli(stack, ['cancel', id]);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`renga: job ${id} already finished (completed); nothing to cancel\n`);
  const unknown = await runCli(stack, ['cancel', 'no-such-job-anywhere']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/^renga: no such job/);
});
