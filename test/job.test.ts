/**
 * jobWorkflow end to end: real dev server, real worker, real SDK over HTTP to the simulator.
 * What the result document says is checked against what the simulator actually served.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { getResult, startJob } from '../client/api';
import { costUsd, roundUsd } from '../shared/pricing';
import { ResultDocumentSchema, type JobInputArg } from '../shared/schemas';
import { workflowFailure } from './helpers/failure';
import { callsOf, okCallsOf } from './helpers/calls';
import { subtaskIdOf, waitUntil, workflowBundle, useStack } from './helpers/stack';
import { progressQuery } from '../workflows/definitions';

const stack = useStack();

const run = async (input: JobInputArg) => {
  const id = await startJob(stack.rc, input);
  return { id, doc: await getResult(stack.rc, id) };
};

test('a job of N subtasks completes; plan, outputs, answer, usage and cost match what the simulator served', async () => {
  const { id, doc } = await run({
    job: 'Compare four sorting algorithms for nearly sorted data',
    maxSubtasks: 4,
    concurrency: 2,
  });
  expect(ResultDocumentSchema.parse(doc)).toEqual(doc);
  expect(doc.status).toBe('completed');
  expect(doc.workflowId).toBe(id);

  const ok = await okCallsOf(stack.sim, id);
  const planCall = ok.find((e) => e.activityType === 'planJob')!;
  const served = JSON.parse(planCall.responseText!) as {
    subtasks: { title: string; instructions: string; kind: string; tier: string; tierReason: string }[];
  };
  expect(planCall.model).toBe('claude-sonnet-4-6');
  expect(served.subtasks).toHaveLength(4);
  expect(doc.plan!.subtasks).toEqual(served.subtasks.map((s, i) => ({ id: `s${i + 1}`, ...s })));

  for (const s of doc.subtasks) {
    const calls = ok.filter((e) => subtaskIdOf(e.lastUserText) === s.id);
    expect(calls).toHaveLength(1);
    expect(s).toMatchObject({
      status: 'completed',
      output: calls[0]!.responseText,
      model: 'claude-haiku-4-5',
      attempts: 1,
      error: null,
    });
    expect(s.usage).toEqual({
      inputTokens: calls[0]!.usage!.input_tokens,
      outputTokens: calls[0]!.usage!.output_tokens,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  }
  const synthCall = ok.find((e) => e.activityType === 'synthesize')!;
  expect(synthCall.model).toBe('claude-sonnet-4-6');
  expect(doc.answer).toBe(synthCall.responseText);
  // Every subtask output reached the synthesizer.
  for (const s of doc.subtasks) expect(synthCall.lastUserText).toContain(s.output!);

  for (const model of ['claude-sonnet-4-6', 'claude-haiku-4-5']) {
    const calls = ok.filter((e) => e.model === model);
    const inputTokens = calls.reduce((n, e) => n + e.usage!.input_tokens, 0);
    const outputTokens = calls.reduce((n, e) => n + e.usage!.output_tokens, 0);
    const cost = roundUsd(
      calls.reduce(
        (n, e) =>
          n +
          costUsd(model, {
            inputTokens: e.usage!.input_tokens,
            outputTokens: e.usage!.output_tokens,
            cacheReadTokens: 0,
            cacheWriteTokens: 0,
          }),
        0,
      ),
    );
    expect(doc.usage.byModel[model]).toEqual({ inputTokens, outputTokens, costUsd: expect.closeTo(cost, 6) });
  }
  expect(doc.usage.costUsd).toBeCloseTo(
    doc.usage.byModel['claude-sonnet-4-6']!.costUsd + doc.usage.byModel['claude-haiku-4-5']!.costUsd,
    6,
  );
  expect(doc.usage.costUsd).toBeGreaterThan(0);
});

test('per-job models override the worker defaults', async () => {
  const { id, doc } = await run({
    job: 'Name three rivers',
    maxSubtasks: 2,
    plannerModel: 'claude-opus-4-6',
    workerModel: 'claude-sonnet-4-6',
  });
  expect(doc.status).toBe('completed');
  expect(Object.keys(doc.usage.byModel).sort()).toEqual(['claude-opus-4-6', 'claude-sonnet-4-6']);
  expect(doc.subtasks.every((s) => s.model === 'claude-sonnet-4-6')).toBe(true);
  // What the simulator was asked for: the planner model plans and synthesizes, the worker model runs subtasks.
  const modelsBy = (type: string) => [...new Set(ok.filter((e) => e.activityType === type).map((e) => e.model))].sort();
  const ok = await okCallsOf(stack.sim, id);
  expect(modelsBy('planJob')).toEqual(['claude-opus-4-6']);
  expect(modelsBy('runSubtask')).toEqual(['claude-sonnet-4-6']);
  expect(modelsBy('synthesize')).toEqual(['claude-opus-4-6']);
});

test('large context is stored once and passed by reference, not copied into every subtask input', async () => {
  const big = 'Observation: the river rose by two centimetres overnight. '.repeat(800); // ~46 KB
  const { id, doc } = await run({
    job: 'Summarise the log',
    context: [{ name: 'log.txt', content: big }],
    maxSubtasks: 3,
  });
  expect(doc.status).toBe('completed');
  // Every model call saw the context...
  const ok = await okCallsOf(stack.sim, id);
  expect(ok.length).toBeGreaterThanOrEqual(5);
  expect(ok.every((e) => e.lastUserText.includes(big) || e.lastUserText.includes('Answer again'))).toBe(true);
  // ...but the history holds it once: in the workflow input and the plan activity's input.
  const history = await stack.client.workflow.getHandle(id).fetchHistory();
  const copies = payloadTexts(history).filter((t) => t.includes(big)).length;
  expect(copies).toBe(2);
});

test('progress and plan are queryable while subtasks run, and cancel keeps finished work', async () => {
  stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 1500 } });
  try {
    const id = await startJob(stack.rc, { job: 'Write six limericks about owls', maxSubtasks: 6, concurrency: 1 });
    const handle = stack.client.workflow.getHandle(id);
    const progress = await waitUntil(async () => {
      const p = await handle.query(progressQuery);
      return p.completed >= 1 ? p : undefined;
    }, 'one subtask has finished');
    expect(progress.phase).toBe('fanout');
    expect(progress.total).toBe(6);
    // The Web UI's stack trace still names renga's sources: the bundle's source map keeps the
    // positions, though not the sources' text (worker/workflow-bundle.ts).
    const trace = await handle.query<string>('__stack_trace');
    expect(trace).toMatch(/workflows[\\/][a-z-]+\.ts:\d+:\d+/);
    await handle.signal('cancel', { synthesize: true, reason: 'test' });
    const doc = await getResult(stack.rc, id);
    expect(doc.status).toBe('cancelled');
    const done = doc.subtasks.filter((s) => s.status === 'completed');
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeLessThan(6);
    expect(doc.subtasks.filter((s) => s.status === 'skipped').length).toBe(6 - done.length);
    expect(done.every((s) => s.output && s.output.length > 0)).toBe(true);
    // Asked to synthesize: the answer combines only what finished.
    const synth = (await okCallsOf(stack.sim, id)).filter((e) => e.activityType === 'synthesize');
    expect(synth).toHaveLength(1);
    expect(doc.answer).toBe(synth[0]!.responseText);
  } finally {
    stack.sim.configure({ latencyMs: 0 });
  }
});

test('the progress query answers from the moment a job starts, while its input is still being checked', async () => {
  // A large context makes the check take a while (it reads every character).
  const context = [{ name: 'tides.txt', content: 'The tide rises and falls twice a day. '.repeat(20_000) }];
  const id = await startJob(stack.rc, {
    job: 'Progress from the start: three facts about tides',
    maxSubtasks: 3,
    context,
  });
  const handle = stack.client.workflow.getHandle(id);
  // Asked back to back from the start: a query may meet the job before its state exists (the input
  // check is a local activity in the first workflow task, and the bench once saw one fail there);
  // every one must be answered.
  const phases: string[] = [];
  for (;;) {
    const p = await handle.query(progressQuery);
    phases.push(p.phase);
    if (p.total > 0) break;
  }
  expect(phases[0]).toBe('planning');
  expect((await getResult(stack.rc, id)).status).toBe('completed');
});

test('invalid input to the workflow fails it at once with a named error', async () => {
  const workflowId = `bad-input-${randomUUID()}`;
  const handle = await stack.client.workflow.start('jobWorkflow', {
    args: [{ job: '', maxSubtasks: 0 }],
    taskQueue: stack.taskQueue,
    workflowId,
  });
  const cause = await workflowFailure(handle);
  expect(cause.type).toBe('InvalidJobInput');
  expect(cause.message).toMatch(/job: the job text is empty; maxSubtasks/);
  expect(await callsOf(stack.sim, workflowId)).toHaveLength(0);
});

/** Every payload in a history, decoded as text (payload data is raw bytes in the proto form). */
function payloadTexts(node: unknown, out: string[] = []): string[] {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('utf8'));
  else if (Array.isArray(node)) node.forEach((n) => payloadTexts(n, out));
  else if (node && typeof node === 'object') Object.values(node).forEach((n) => payloadTexts(n, out));
  return out;
}

describe('replay', () => {
  test('a fresh history replays without nondeterminism', async () => {
    const { id, doc } = await run({ job: 'List five prime numbers and explain each', maxSubtasks: 3 });
    expect(doc.status).toBe('completed');
    // Through proto3 JSON, the form a history is saved and shared in (UI download, `temporal workflow show -o json`).
    // The committed histories of every path are replayed by replay.test.ts.
    const history = historyToJSON(await stack.client.workflow.getHandle(id).fetchHistory());
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, JSON.parse(history), id);
  });
});
