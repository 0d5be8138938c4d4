/**
 * The `renga` CLI as a user runs it: a real process, real exit codes, the documented --json
 * document. Bad input exits 2 and starts nothing; an unreachable Temporal exits 3.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResultDocumentSchema } from '../shared/schemas';
import { runCli, useStack, waitUntil } from './helpers/stack';

const dir = mkdtempSync(path.join(os.tmpdir(), 'renga-cli-'));

const stack = useStack();

const renga = (args: string[], env: Record<string, string> = {}) => runCli(stack, args, env);

async function workflowCount(): Promise<number> {
  let n = 0;
  for await (const _ of stack.client.workflow.list()) n++;
  return n;
}

const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

describe('bad input exits 2 with a precise message and starts nothing', () => {
  test.each<[string, () => string[], RegExp]>([
    ['empty job', () => ['run', ''], /invalid input: job: the job text is empty/],
    ['unknown option', () => ['run', 'x', '--bogus'], /unknown option '--bogus'/],
    [
      'non-numeric --max-subtasks',
      () => ['run', 'x', '--max-subtasks', 'many'],
      /--max-subtasks takes a whole number ≥ 1, got 'many'/,
    ],
    [
      'too many subtasks',
      () => ['run', 'x', '--max-subtasks', '20000'],
      /maxSubtasks: Too big: expected number to be <=10000/,
    ],
    [
      'oversized job file',
      () => ['run', '--file', file('huge.txt', 'a'.repeat(100_001))],
      /job: the job text is longer than 100000 characters/,
    ],
    [
      'malformed JSON job file',
      () => ['run', '--file', file('bad.json', '{"job": "x",')],
      /--file .*bad.json: malformed JSON/,
    ],
    [
      'missing context file',
      () => ['start', 'x', '--context', path.join(dir, 'absent.md')],
      /--context .*absent.md: no such file/,
    ],
    ['binary context file', () => ['start', 'x', '--context', file('blob.bin', Buffer.from([0, 1, 2]))], /binary file/],
    ['unknown command', () => ['frobnicate'], /unknown command 'frobnicate'/],
  ])('%s', async (_name, args, message) => {
    const before = await workflowCount();
    const r = await renga(args());
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(await workflowCount()).toBe(before);
  });

  test('a bad environment variable is named', async () => {
    const r = await renga(['run', 'x'], { TEMPORAL_ADDRESS: 'not-an-address' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TEMPORAL_ADDRESS: must be host:port/);
  });
});

test('Temporal unreachable exits 3 and names the address', async () => {
  const r = await renga(['run', 'x'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/cannot reach Temporal at 127.0.0.1:1 \(TEMPORAL_ADDRESS\)/);
});

test('run --json prints the documented result document and exits 0', async () => {
  const r = await renga([
    'run',
    'Outline a talk on tidal energy',
    '--max-subtasks',
    '3',
    '--concurrency',
    '2',
    '--id',
    'cli-json-1',
    '--json',
  ]);
  expect(r.code).toBe(0);
  const doc = ResultDocumentSchema.parse(JSON.parse(r.stdout));
  expect(doc).toMatchObject({ workflowId: 'cli-json-1', status: 'completed' });
  expect(doc.plan!.subtasks).toHaveLength(3);
  expect(doc.subtasks.map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
  expect(doc.answer).toMatch(/^Simulated answer from claude-sonnet-4-6/);
  expect(Object.keys(doc.usage.byModel).sort()).toEqual(['claude-haiku-4-5', 'claude-sonnet-4-6']);
});

test('start, status, result and an unknown id', async () => {
  const started = await renga(['start', 'List three uses of graphene', '--max-subtasks', '2', '--id', 'cli-start-1']);
  expect(started.code).toBe(0);
  expect(started.stdout.trim()).toBe('cli-start-1');

  const result = await renga(['result', 'cli-start-1']);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^cli-start-1: completed · 2\/2 subtasks · \$\d+\.\d{4}\n\nSimulated answer/);

  const status = await renga(['status', 'cli-start-1', '--json']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({
    workflowId: 'cli-start-1',
    status: 'COMPLETED',
    progress: { phase: 'done', total: 2, completed: 2 },
  });

  const missing = await renga(['result', 'no-such-job']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/no such job/);
});

test('watch (piped), list with filters, and approve refused for a job that is not waiting', async () => {
  const started = await renga(['start', 'Name three deserts', '--max-subtasks', '2', '--id', 'cli-watch-1']);
  expect(started.code).toBe(0);

  const watch = await renga(['watch', 'cli-watch-1', '--interval', '100']);
  expect(watch.code).toBe(0);
  expect(watch.stdout).toMatch(/^watching cli-watch-1 — /);
  expect(watch.stdout).toMatch(/^s1 done: /m);
  expect(watch.stdout.trim().split('\n').pop()).toMatch(/^cli-watch-1: completed · 2\/2 subtasks · \$\d+\.\d{4}$/);

  // Visibility is eventually consistent: ask until the index has the finished job.
  const listed = await waitUntil(async () => {
    const r = await renga(['list', '--status', 'completed', '--phase', 'done', '--since', '1h', '--json']);
    const rows = JSON.parse(r.stdout) as { workflowId: string; done: number; total: number }[];
    return r.code === 0 && rows.some((x) => x.workflowId === 'cli-watch-1') ? rows : undefined;
  }, 'renga list shows the finished job');
  expect(listed.find((x) => x.workflowId === 'cli-watch-1')).toMatchObject({ done: 2, total: 2 });

  const badSince = await renga(['list', '--since', 'someday']);
  expect(badSince.code).toBe(2);
  expect(badSince.stderr).toMatch(/--since takes 30m, 2h, 7d or a date, got 'someday'/);

  const refused = await renga(['approve', 'cli-json-1']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/^renga: /);
});
