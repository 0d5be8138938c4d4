/**
 * `renga redo`: a new job that reuses a finished job's plan and outputs and pays only for what runs
 * again. Each job's calls are read by its own workflow id (test/helpers/calls.ts), so "no planning
 * call" means none attributed to the redo job's workflow.
 */
import { cancelJob, getProgress, getResult, startJob } from '../client/api';
import { ResultDocumentSchema, type ResultDocument } from '../shared/schemas';
import * as SA from '../shared/search-attributes';
import type { RequestLogEntry } from '../simulator/types';
import { okCallsOf } from './helpers/calls';
import { runCli, useStack, waitUntil } from './helpers/stack';

const stack = useStack();
const OPUS = 'claude-opus-4-6';

let original: ResultDocument;

beforeAll(async () => {
  const id = await startJob(stack.rc, { job: 'redocase compare three licences for a library', maxSubtasks: 3 });
  original = await getResult(stack.rc, id);
  expect(original.status).toBe('completed');
  expect(original.plan!.subtasks.map((s) => s.id)).toEqual(['s1', 's2', 's3']);
});

/** Model calls (Messages API) of one workflow, by activity type. */
const messageCalls = (calls: RequestLogEntry[], type: string) =>
  calls.filter((c) => c.path === '/v1/messages' && c.activityType === type);

async function redo(args: string[]): Promise<{ doc: ResultDocument; calls: RequestLogEntry[] }> {
  const run = await runCli(stack, ['redo', original.workflowId, ...args, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const doc = ResultDocumentSchema.parse(JSON.parse(run.stdout));
  return { doc, calls: await okCallsOf(stack.sim, doc.workflowId) };
}

test('redo of one subtask: one worker call and one synthesis call, no planning; the rest is reused', async () => {
  const { doc, calls } = await redo(['--subtask', 's2']);
  expect(doc.workflowId).not.toBe(original.workflowId);
  expect(doc.status).toBe('completed');
  expect(messageCalls(calls, 'planJob')).toHaveLength(0);
  expect(messageCalls(calls, 'runSubtask')).toHaveLength(1);
  expect(messageCalls(calls, 'synthesize')).toHaveLength(1);
  expect(calls.filter((c) => c.path === '/v1/messages')).toHaveLength(2);
  expect(messageCalls(calls, 'runSubtask')[0]!.lastUserText).toMatch(/^Subtask s2 of 3:/m);

  expect(doc.redo).toEqual({ of: original.workflowId, reused: ['s1', 's3'], redone: ['s2'], model: null });
  expect(doc.plan).toEqual(original.plan);
  const [s1, s2, s3] = doc.subtasks;
  for (const [reused, was] of [
    [s1!, original.subtasks[0]!],
    [s3!, original.subtasks[2]!],
  ] as const) {
    expect(reused).toMatchObject({ status: 'completed', output: was.output, reusedFrom: original.workflowId });
    expect(reused.usage).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });
  }
  expect(s2!.reusedFrom).toBeUndefined();
  expect(s2!.status).toBe('completed');
  expect(s2!.usage.outputTokens).toBeGreaterThan(0);
  // The synthesis read the reused outputs too.
  const synthesis = messageCalls(calls, 'synthesize')[0]!;
  expect(synthesis.lastUserText).toContain(original.subtasks[0]!.output!.slice(0, 60));
  // It paid for exactly the two calls it made.
  const billedOutput = calls.reduce((n, c) => n + (c.usage?.output_tokens ?? 0), 0);
  const reported = Object.values(doc.usage.byModel).reduce((n, m) => n + m.outputTokens, 0);
  expect(reported).toBe(billedOutput);
  expect(doc.usage.costUsd).toBeLessThan(original.usage.costUsd);

  // Linked to the original: memo and a search attribute.
  const d = await stack.client.workflow.getHandle(doc.workflowId).describe();
  expect(await d.memo).toEqual({ redoOf: original.workflowId });
  expect(d.typedSearchAttributes.get(SA.RengaRedoOf)).toBe(original.workflowId);
});

test('redo --synthesis --model: exactly one call, the synthesis, on that model; every subtask reused', async () => {
  const { doc, calls } = await redo(['--synthesis', '--model', OPUS]);
  expect(calls.filter((c) => c.path === '/v1/messages')).toHaveLength(1);
  expect(messageCalls(calls, 'synthesize')).toHaveLength(1);
  expect(messageCalls(calls, 'synthesize')[0]!.model).toBe(OPUS);
  expect(doc.redo).toEqual({ of: original.workflowId, reused: ['s1', 's2', 's3'], redone: [], model: OPUS });
  expect(doc.subtasks.every((s) => s.reusedFrom === original.workflowId)).toBe(true);
  expect(doc.subtasks.map((s) => s.output)).toEqual(original.subtasks.map((s) => s.output));
  expect(Object.keys(doc.usage.byModel)).toEqual([OPUS]);
  expect(doc.answer).not.toBeNull();
});

test('redo --subtask --model runs the named subtasks on that model', async () => {
  const { doc, calls } = await redo(['--subtask', 's1', '--subtask', 's3', '--model', OPUS]);
  const workers = messageCalls(calls, 'runSubtask');
  expect(workers.map((c) => c.model)).toEqual([OPUS, OPUS]);
  expect(doc.subtasks.map((s) => s.model)).toEqual([OPUS, original.subtasks[1]!.model, OPUS]);
  expect(doc.redo!.redone).toEqual(['s1', 's3']);
  expect(messageCalls(calls, 'planJob')).toHaveLength(0);
});

describe('bad input exits 2 with one line and starts nothing', () => {
  const refused = async (args: string[], message: RegExp) => {
    const before = await stack.client.workflow.count(`RengaRedoOf = '${args[0]}'`);
    const run = await runCli(stack, ['redo', ...args]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect((await stack.client.workflow.count(`RengaRedoOf = '${args[0]}'`)).count).toBe(before.count);
  };

  test('unknown job id', () => refused(['renga-no-such-job', '--synthesis'], /no such job: renga-no-such-job/));
  test('unknown subtask id', () =>
    refused([original.workflowId, '--subtask', 's9'], /has no subtask s9 \(its subtasks: s1, s2, s3\)/));
  test('invalid model', () =>
    refused([original.workflowId, '--synthesis', '--model', 'gpt-4'], /--model: 'gpt-4' is not a model/));
  test('neither --subtask nor --synthesis', () =>
    refused([original.workflowId], /redo needs --subtask <id> or --synthesis/));
  test('a job still running', async () => {
    const id = await startJob(stack.rc, { job: 'redowaiting a job that waits for approval', approvePlan: true });
    await waitUntil(
      async () => (await getProgress(stack.rc, id))?.phase === 'awaiting-approval',
      'plan awaits approval',
    );
    await refused([id, '--synthesis'], new RegExp(`job ${id} is still running`));
    await cancelJob(stack.rc, id);
  });
});
