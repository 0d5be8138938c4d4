/**
 * Bad input, as a user types it: every case exits 2 with one line naming the problem, no stack
 * trace, and starts nothing. One table; each row is a real `renga` process against a real stack.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidJobInputError, getResult, startJob } from '../client/api';
import { newKeyLine } from '../shared/codec';
import { workflowFailure } from './helpers/failure';
import { REPO, runCli, useStack, type CliRun } from './helpers/stack';

const dir = mkdtempSync(path.join(os.tmpdir(), 'renga-cli-input-'));
const stack = useStack();

const at = (name: string) => path.join(dir, name);
const file = (name: string, content: string | Buffer) => {
  writeFileSync(at(name), content);
  return at(name);
};
const directory = (name: string) => {
  mkdirSync(at(name), { recursive: true });
  return at(name);
};
/** A FIFO nobody writes to: reading it would block forever. */
const fifo = (name: string) => {
  execFileSync('mkfifo', [at(name)]);
  return at(name);
};
const twoJobs = () => file('two.jsonl', '{"job": "a"}\n{"job": "b"}\n');
/** Key material a bad key line must never echo (issue 9, item 7): a real key, then one of its runs. */
const KEY = newKeyLine('k1').slice('k1:'.length);
const KEY_START = KEY.slice(0, 6);

/** A finished job, for "--id that exists" and "cancel a finished job". */
let finishedId = '';
beforeAll(async () => {
  finishedId = await startJob(stack.rc, { job: 'Name one mountain', maxSubtasks: 1 });
  await getResult(stack.rc, finishedId);
});

async function workflowCount(): Promise<number> {
  let n = 0;
  for await (const _ of stack.client.workflow.list()) n++;
  return n;
}

/** The CLI with raw bytes in its arguments (what a shell passes for invalid UTF-8). */
function runCliShell(script: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const cli = `"${process.execPath}" --import tsx "${path.join(REPO, 'client', 'cli.ts')}"`;
    const child = spawn('/bin/sh', ['-c', script.replace('renga', cli)], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), TEMPORAL_ADDRESS: stack.server.address },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A literal inside a RegExp. */
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

type Case = [name: string, run: () => Promise<CliRun>, message: RegExp];
const cli =
  (args: () => string[], env: Record<string, string> = {}) =>
  () =>
    runCli(stack, args(), env);

const cases: Case[] = [
  [
    '--file a directory',
    cli(() => ['run', '--file', directory('jobdir')]),
    /--file .*jobdir: is a directory; give a regular file/,
  ],
  [
    '--context a directory',
    cli(() => ['start', 'x', '--context', directory('ctxdir')]),
    /--context .*ctxdir: is a directory/,
  ],
  [
    '--file a FIFO',
    cli(() => ['run', '--file', fifo('job.fifo')]),
    /--file .*job.fifo: is a FIFO \(named pipe\); give a regular file/,
  ],
  ['--context a FIFO', cli(() => ['start', 'x', '--context', fifo('ctx.fifo')]), /--context .*ctx.fifo: is a FIFO/],
  ['--id empty', cli(() => ['start', 'x', '--id', '']), /--id: the workflow id is empty/],
  [
    '--id of 2,000 characters',
    cli(() => ['start', 'x', '--id', 'a'.repeat(2000)]),
    /--id: the workflow id is longer than 200 characters/,
  ],
  [
    '--id that exists',
    cli(() => ['start', 'x', '--id', finishedId]),
    /--id renga-.*: a job with this id already exists \(completed\); choose another id/,
  ],
  [
    '--id with a slash',
    cli(() => ['start', 'x', '--id', 'a/b']),
    /--id: the workflow id may hold only letters, digits/,
  ],
  ['--id with a space', cli(() => ['start', 'x', '--id', 'a b']), /--id: the workflow id may hold only/],
  ['--id with a newline', cli(() => ['start', 'x', '--id', 'a\nb']), /--id: the workflow id may hold only/],
  ['--id starting with -', cli(() => ['start', 'x', '--id=-rf']), /--id: the workflow id starts with '-'/],
  [
    'cron minute 61',
    cli(() => ['schedule', 'create', 'c1', '--cron', '61 * * * *', '--jobs', twoJobs()]),
    /--cron '61 \* \* \* \*': Invalid value for minute: 61/,
  ],
  [
    'cron @bogus',
    cli(() => ['schedule', 'create', 'c2', '--cron', '@bogus', '--jobs', twoJobs()]),
    /--cron '@bogus': unknown shorthand/,
  ],
  [
    'cron of letters',
    cli(() => ['schedule', 'create', 'c3', '--cron', 'a b c d e', '--jobs', twoJobs()]),
    /--cron 'a b c d e': .*illegal characters/,
  ],
  [
    'cron that never fires',
    cli(() => ['schedule', 'create', 'c4', '--cron', '0 0 30 2 *', '--jobs', twoJobs()]),
    /--cron '0 0 30 2 \*': never fires/,
  ],
  [
    'invalid UTF-8 on the command line',
    () => runCliShell(`renga start "$(printf 'bad \\377 byte')"`),
    /job: contains U\+FFFD at position 4: the text was not valid UTF-8/,
  ],
  [
    'a .json job with \\u0000',
    cli(() => ['start', '--file', file('nul.json', '{"job": "a\\u0000b"}')]),
    /--file .*nul.json: job: contains a NUL character \(U\+0000\) at position 1/,
  ],
  [
    'a .json job with a lone surrogate',
    cli(() => ['start', '--file', file('sur.json', '{"job": "a\\ud800b"}')]),
    /--file .*sur.json: job: contains a lone surrogate \(U\+D800\)/,
  ],
  [
    'the same NUL in a text file',
    cli(() => ['start', '--file', file('nul.txt', 'a\u0000b')]),
    /--file .*nul.txt: binary file \(contains NUL bytes\)/,
  ],
  [
    'a lone surrogate in a text file',
    cli(() => ['start', '--file', file('sur.txt', Buffer.from([0x61, 0xed, 0xa0, 0x80]))]),
    /--file .*sur.txt: not valid UTF-8 text/,
  ],
  [
    '--worker-model gpt-4o',
    cli(() => ['start', 'x', '--worker-model', 'gpt-4o']),
    /workerModel: 'gpt-4o' is not a model the Messages API serves .*RENGA_EXTRA_MODELS/,
  ],
  ['--planner-model ""', cli(() => ['start', 'x', '--planner-model', '']), /plannerModel: the model name is empty/],
  [
    'batch start a directory',
    cli(() => ['batch', 'start', directory('batchdir')]),
    /batchdir: is a directory; give a regular file/,
  ],
  [
    'batch start with a model the API does not serve',
    cli(() => ['batch', 'start', file('models.jsonl', '{"job": "a"}\n\n{"job": "b", "workerModel": "gpt-4o"}\n')]),
    /--jobs .*models.jsonl: line 3: workerModel: 'gpt-4o' is not a model the Messages API serves/,
  ],
  [
    'an encryption key line without an id',
    cli(() => ['start', 'x'], { RENGA_ENCRYPTION_KEYS: KEY }),
    new RegExp(`^(?!.*${escape(KEY_START)}).*RENGA_ENCRYPTION_KEYS: .*entry 1 has no id; its characters are not shown`),
  ],
  [
    'an encryption key line with an invalid id',
    cli(() => ['start', 'x'], { RENGA_ENCRYPTION_KEYS: `${KEY.slice(0, 10)} x:${KEY}` }),
    new RegExp(
      `^(?!.*${escape(KEY_START)}).*RENGA_ENCRYPTION_KEYS: .*entry 1 has an invalid id; its characters are not shown`,
    ),
  ],
  [
    'cancel a finished job',
    cli(() => ['cancel', finishedId]),
    /job renga-.* already finished \(completed\); nothing to cancel/,
  ],
];

test.each(cases)('%s: exit 2, one line naming it, nothing started', async (_name, run, message) => {
  const before = await workflowCount();
  const r = await run();
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^renga: /);
  expect(r.code).toBe(2);
  expect(await workflowCount()).toBe(before);
});

test('RENGA_EXTRA_MODELS admits a model newer than the SDK list', async () => {
  const r = await runCli(stack, ['start', 'x', '--worker-model', 'claude-sonnet-9', '--approve-plan'], {
    RENGA_EXTRA_MODELS: 'claude-sonnet-9',
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  await stack.client.workflow.getHandle(r.stdout.trim()).terminate('test done');
});

test('the TS API refuses a NUL in a workflow id before starting', async () => {
  await expect(startJob(stack.rc, { job: 'x' }, { workflowId: 'a\u0000b' })).rejects.toThrow(InvalidJobInputError);
});

test('a job started around the API with a bad id fails at once with InvalidJobInput', async () => {
  const handle = await stack.client.workflow.start('jobWorkflow', {
    args: [{ job: 'x' }],
    taskQueue: stack.taskQueue,
    workflowId: `has space ${process.pid}`,
  });
  const cause = await workflowFailure(handle);
  expect(cause.type).toBe('InvalidJobInput');
  expect(cause.message).toMatch(/^invalid job input: workflow id: the workflow id may hold only/);
});
