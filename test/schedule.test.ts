/**
 * `renga schedule …` as a user runs it, on a real dev server: a schedule created through the CLI
 * fires (trigger, backfill) and its runs complete; overlap policies hold; pause/unpause/delete
 * round-trip; a bad jobs file exits 2 naming its lines and creates nothing.
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchResultSchema } from '../shared/batch';
import type { ScheduleView } from '../client/batch';
import { runCli, useStack, waitUntil } from './helpers/stack';

const dir = mkdtempSync(path.join(os.tmpdir(), 'renga-schedule-'));

const stack = useStack();

beforeEach(() => stack.sim.configure({ latencyMs: 0 }));

const renga = (args: string[]) => runCli(stack, args);

function jobsFile(name: string, lines: string[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}
const twoJobs = () =>
  jobsFile('two.jsonl', [
    JSON.stringify({ job: 'List three moons of Jupiter', maxSubtasks: 2 }),
    '',
    JSON.stringify({ job: 'Name two noble gases', maxSubtasks: 1 }),
  ]);

const describe_ = (name: string) => stack.client.schedule.getHandle(name).describe();
async function scheduleIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of stack.client.schedule.list()) ids.push(s.scheduleId);
  return ids;
}
async function runStatuses(name: string): Promise<string[]> {
  const d = await describe_(name);
  return Promise.all(
    d.info.recentActions.map(
      async (a) => (await stack.client.workflow.getHandle(a.action.workflow.workflowId).describe()).status.name,
    ),
  );
}
/**
 * Waits until the schedule has taken `n` runs and all of them have closed. (The dev server's
 * describe leaves `runningWorkflows` empty, so ask each run's workflow itself.)
 */
async function settled(name: string, n: number) {
  return waitUntil(async () => {
    const d = await describe_(name);
    if (d.info.numActionsTaken < n) return undefined;
    return (await runStatuses(name)).every((s) => s !== 'RUNNING') ? d : undefined;
  }, `schedule ${name} has taken ${n} runs and they have finished`);
}

test('a schedule created through the CLI fires on trigger, its run completes, and describe reports the outcome', async () => {
  const created = await renga([
    'schedule',
    'create',
    'nightly',
    '--cron',
    '0 2 * * *',
    '--timezone',
    'Europe/Berlin',
    '--jobs',
    twoJobs(),
    '--concurrency',
    '2',
  ]);
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/created schedule nightly \(2 jobs\)/);

  const d = await describe_('nightly');
  expect(d.spec.timezone).toBe('Europe/Berlin');
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(d.info.nextActionTimes.length).toBeGreaterThan(0);

  expect((await renga(['schedule', 'trigger', 'nightly'])).code).toBe(0);
  const after = await settled('nightly', 1);
  const runId = after.info.recentActions[0]!.action.workflow.workflowId;
  expect(runId).toMatch(/^renga-batch-nightly-/);
  const result = BatchResultSchema.parse(await stack.client.workflow.getHandle(runId).result());
  expect(result.counts).toEqual({ completed: 2, partial: 0, failed: 0, cancelled: 0 });

  const shown = await renga(['schedule', 'describe', 'nightly', '--json']);
  expect(shown.code).toBe(0);
  const view = JSON.parse(shown.stdout) as ScheduleView;
  expect(view).toMatchObject({
    name: 'nightly',
    timing: 'cron "0 2 * * *"',
    timezone: 'Europe/Berlin',
    paused: false,
    actionsTaken: 1,
  });
  expect(view.nextRuns.length).toBeGreaterThan(0);
  expect(view.recentRuns).toHaveLength(1);
  expect(view.recentRuns[0]).toMatchObject({
    workflowId: runId,
    status: 'COMPLETED',
    result: { jobs: 2, counts: { completed: 2, failed: 0 } },
  });
  expect(view.recentRuns[0]!.result!.usage.costUsd).toBeGreaterThan(0);

  const text = await renga(['schedule', 'describe', 'nightly']);
  expect(text.stdout).toMatch(/nightly: cron "0 2 \* \* \*" \(Europe\/Berlin\) · overlap SKIP · active/);
  expect(text.stdout).toMatch(/COMPLETED {2}2 jobs: 2 completed, 0 partial, 0 failed · \$\d+\.\d{4}/);
});

test('pause with a note, unpause, delete: each round-trips through describe and list', async () => {
  expect((await renga(['schedule', 'create', 'roundtrip', '--every', '6h', '--jobs', twoJobs()])).code).toBe(0);
  const listed = await renga(['schedule', 'list', '--json']);
  expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((s) => s.name)).toContain('roundtrip');

  expect((await renga(['schedule', 'pause', 'roundtrip', '--note', 'vendor outage'])).code).toBe(0);
  expect((await describe_('roundtrip')).state).toMatchObject({ paused: true, note: 'vendor outage' });
  expect((await renga(['schedule', 'describe', 'roundtrip'])).stdout).toMatch(/PAUSED \(vendor outage\)/);

  expect((await renga(['schedule', 'unpause', 'roundtrip', '--note', 'back'])).code).toBe(0);
  expect((await describe_('roundtrip')).state).toMatchObject({ paused: false, note: 'back' });

  expect((await renga(['schedule', 'delete', 'roundtrip'])).code).toBe(0);
  await waitUntil(
    async () => !(await scheduleIds()).includes('roundtrip'),
    'the deleted schedule is gone from the list',
  );
  const gone = await renga(['schedule', 'describe', 'roundtrip']);
  expect(gone.code).toBe(2);
  expect(gone.stderr).toMatch(/no such schedule: roundtrip/);
});

test('overlap skip: a trigger while a run is going is skipped; buffer-one runs it afterwards', async () => {
  // Slow planner: a run stays open long enough for the next triggers to find it running.
  stack.sim.configure({ latencyMs: { 'claude-sonnet-4-6': 4_000 } });
  const file = jobsFile('one.jsonl', [JSON.stringify({ job: 'Name one comet', maxSubtasks: 1 })]);
  expect(
    (await renga(['schedule', 'create', 'ov-skip', '--every', '1d', '--jobs', file, '--overlap', 'skip'])).code,
  ).toBe(0);
  expect(
    (await renga(['schedule', 'create', 'ov-buffer', '--every', '1d', '--jobs', file, '--overlap', 'buffer-one'])).code,
  ).toBe(0);

  for (const name of ['ov-skip', 'ov-buffer']) {
    // Every trigger through the CLI, which applies the schedule's own policy: the SDK's default
    // (allow-all) would start runs the scheduler does not even track for overlap.
    expect((await renga(['schedule', 'trigger', name])).code).toBe(0);
    await waitUntil(async () => (await runStatuses(name)).includes('RUNNING'), `${name} has a run going`);
    expect((await renga(['schedule', 'trigger', name])).code).toBe(0);
    if (name === 'ov-buffer') expect((await renga(['schedule', 'trigger', name])).code).toBe(0);
  }
  // skip: the second trigger is dropped.
  const skip = await waitUntil(async () => {
    const d = await describe_('ov-skip');
    return d.info.numActionsSkippedOverlap >= 1 ? d : undefined;
  }, 'ov-skip has skipped a run for overlap');
  expect(skip.info.numActionsTaken).toBe(1);
  // buffer-one: one trigger waits and runs after the first; the third is dropped.
  stack.sim.configure({ latencyMs: 0 });
  const buffered = await settled('ov-buffer', 2);
  expect(buffered.info.numActionsTaken).toBe(2);
  expect(buffered.info.numActionsSkippedOverlap).toBe(1);
  const skipDone = await settled('ov-skip', 1);
  expect(skipDone.info.numActionsTaken).toBe(1);
  expect(skipDone.info.recentActions).toHaveLength(1);
  for (const a of buffered.info.recentActions) {
    const r = BatchResultSchema.parse(await stack.client.workflow.getHandle(a.action.workflow.workflowId).result());
    expect(r.counts.completed).toBe(1);
  }
});

test('backfill takes the runs of a past window, one after another', async () => {
  expect(
    (
      await renga([
        'schedule',
        'create',
        'hourly',
        '--every',
        '1h',
        '--jobs',
        twoJobs(),
        '--paused',
        '--note',
        'backfill only',
      ])
    ).code,
  ).toBe(0);
  const r = await renga([
    'schedule',
    'backfill',
    'hourly',
    '--from',
    '2026-01-01T00:30:00Z',
    '--to',
    '2026-01-01T03:30:00Z',
  ]);
  expect(r.code).toBe(0);
  const d = await settled('hourly', 3);
  const ids = d.info.recentActions.map((a) => a.action.workflow.workflowId).sort();
  expect(ids).toEqual([
    'renga-batch-hourly-2026-01-01T01:00:00Z',
    'renga-batch-hourly-2026-01-01T02:00:00Z',
    'renga-batch-hourly-2026-01-01T03:00:00Z',
  ]);
  for (const id of ids) {
    expect(BatchResultSchema.parse(await stack.client.workflow.getHandle(id).result()).counts.completed).toBe(2);
  }
});

describe('bad input exits 2 and creates nothing', () => {
  test.each<[string, () => string[], RegExp]>([
    [
      'bad lines in the jobs file, each named',
      () => [
        'schedule',
        'create',
        'bad1',
        '--every',
        '1h',
        '--jobs',
        jobsFile('bad.jsonl', ['{"job":"ok"}', '{"job":', '{"job":""}', '[1]', '{"job":"x","colour":"red"}']),
      ],
      /--jobs .*bad.jsonl: 4 bad lines:\n {2}line 2: malformed JSON .*\n {2}line 3: job: the job text is empty\n {2}line 4: expected a JSON object with at least "job"\n {2}line 5: .*colour/,
    ],
    [
      'empty jobs file',
      () => ['schedule', 'create', 'bad2', '--every', '1h', '--jobs', jobsFile('empty.jsonl', [''])],
      /no jobs/,
    ],
    [
      'neither --cron nor --every',
      () => ['schedule', 'create', 'bad3', '--jobs', twoJobs()],
      /give exactly one of --cron or --every/,
    ],
    [
      'a bad interval',
      () => ['schedule', 'create', 'bad4', '--every', 'often', '--jobs', twoJobs()],
      /--every takes a duration such as 30s/,
    ],
    [
      'a bad overlap policy',
      () => ['schedule', 'create', 'bad5', '--every', '1h', '--overlap', 'sometimes', '--jobs', twoJobs()],
      /--overlap takes skip, buffer-one, allow-all/,
    ],
    [
      'an unknown time zone',
      () => ['schedule', 'create', 'bad6', '--cron', '0 2 * * *', '--timezone', 'Mars/Olympus', '--jobs', twoJobs()],
      /unknown time zone 'Mars\/Olympus'/,
    ],
    [
      'a malformed cron',
      () => ['schedule', 'create', 'bad7', '--cron', '0 2 *', '--jobs', twoJobs()],
      /--cron takes 5 fields/,
    ],
    [
      'batch run with a bad line',
      () => ['batch', 'run', jobsFile('bad2.jsonl', ['{"job":"fine"}', '{"job":"x","maxSubtasks":0}'])],
      /line 2: maxSubtasks/,
    ],
  ])('%s', async (_name, args, message) => {
    const before = await scheduleIds();
    const r = await renga(args());
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(await scheduleIds()).toEqual(before);
  });
});

test('batch run --json runs a jobs file once and prints the batch result', async () => {
  const r = await renga(['batch', 'run', twoJobs(), '--id', 'cli-batch-1', '--json']);
  expect(r.code).toBe(0);
  const result = BatchResultSchema.parse(JSON.parse(r.stdout));
  expect(result).toMatchObject({
    workflowId: 'cli-batch-1',
    jobs: 2,
    counts: { completed: 2, failed: 0 },
    mode: 'direct',
  });
});
