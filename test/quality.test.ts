/**
 * Stop reasons, escalation, output schemas and routing, end to end: real dev server, real worker,
 * real SDK over HTTP to the simulator, whose scripted answers (simulator/answers.ts) make a marked
 * subtask's answer truncated, refused or off-schema. Each test marks its job text with a word of
 * its own and reads only the simulator calls that carry it.
 */
import { getResult, startJob } from '../client/api';
import type { JobInputArg } from '../shared/schemas';
import { batchesOf, callsOf as jobCallsOf } from './helpers/calls';
import { runToDocument } from './helpers/jobs';
import { subtaskIdOf, useStack } from './helpers/stack';

const stack = useStack();
const HAIKU = 'claude-haiku-4-5';
const SONNET = 'claude-sonnet-4-6';

const run = (input: JobInputArg) => runToDocument(stack, input);
/** Messages calls (not token counts) whose prompt carries this test's word. */
const callsOf = (word: string) =>
  stack.sim.log.filter((e) => e.path === '/v1/messages' && e.outcome === 'ok' && e.lastUserText.includes(word));
/** The marker of subtask `id`'s prompt: the simulated planner titles it `title N: job <word> …`. */
const subtaskMarker = (id: string, total: number, word: string) =>
  `Subtask ${id} of ${total}: title ${id.slice(1)}: job ${word}`;

test('a truncated answer is continued from where it stopped and the subtask completes whole', async () => {
  const word = 'truncationcase';
  stack.sim.scriptAnswer({ match: { textIncludes: subtaskMarker('s2', 3, word) }, stopReason: 'max_tokens' });
  const doc = await run({ job: `${word} list facts about rivers`, maxSubtasks: 3, subtaskMaxTokens: 64 });
  expect(doc.status).toBe('completed');

  const s2Calls = callsOf(word).filter((e) => subtaskIdOf(e.lastUserText) === 's2');
  expect(s2Calls.map((e) => e.stopReason)).toEqual(['max_tokens', 'end_turn']);
  const s2 = doc.subtasks.find((s) => s.id === 's2')!;
  // The output is the cut-off part followed by its continuation, on the same model, not escalated.
  expect(s2.output).toBe(`${s2Calls[0]!.responseText!}${s2Calls[1]!.responseText!}`);
  expect(s2).toMatchObject({ status: 'completed', stopReason: 'end_turn', escalatedFrom: null, model: HAIKU });
  expect(s2.usage.outputTokens).toBe(s2Calls[0]!.usage!.output_tokens + s2Calls[1]!.usage!.output_tokens);
  expect(Object.keys(s2.costByModel!)).toEqual([HAIKU]);
});

test('a subtask still cut off after its continuations is escalated to the strong model', async () => {
  const word = 'alwayscutcase';
  // The first call and both continuations on Haiku are cut off; Sonnet then answers whole.
  stack.sim.scriptAnswer({
    match: { textIncludes: subtaskMarker('s1', 2, word), model: HAIKU },
    stopReason: 'max_tokens',
    times: 3,
  });
  const doc = await run({ job: `${word} explain tides`, maxSubtasks: 2, subtaskMaxTokens: 64 });
  const s1Calls = callsOf(word).filter((e) => subtaskIdOf(e.lastUserText) === 's1');
  expect(s1Calls.map((e) => [e.model, e.stopReason])).toEqual([
    [HAIKU, 'max_tokens'],
    [HAIKU, 'max_tokens'],
    [HAIKU, 'max_tokens'],
    [SONNET, 'end_turn'],
  ]);
  const s1 = doc.subtasks.find((s) => s.id === 's1')!;
  expect(s1).toMatchObject({ status: 'completed', model: SONNET, escalatedFrom: HAIKU, stopReason: 'end_turn' });
  expect(s1.output).toBe(s1Calls[3]!.responseText);
  expect(Object.keys(s1.costByModel!).sort()).toEqual([HAIKU, SONNET]);
});

test('a refusal is escalated to the strong model; refused there too, the subtask fails and is never completed', async () => {
  const word = 'refusalcase';
  stack.sim.scriptAnswer(
    { match: { textIncludes: subtaskMarker('s1', 3, word), model: HAIKU }, stopReason: 'refusal' },
    // s3 is refused by both models.
    { match: { textIncludes: subtaskMarker('s3', 3, word) }, stopReason: 'refusal', times: 2 },
  );
  const doc = await run({ job: `${word} summarise the history of ink`, maxSubtasks: 3 });
  expect(doc.status).toBe('partial');
  const calls = callsOf(word);
  const s1Calls = calls.filter((e) => subtaskIdOf(e.lastUserText) === 's1');
  expect(s1Calls.map((e) => [e.model, e.stopReason])).toEqual([
    [HAIKU, 'refusal'],
    [SONNET, 'end_turn'],
  ]);
  expect(doc.subtasks.find((s) => s.id === 's1')).toMatchObject({
    status: 'completed',
    model: SONNET,
    escalatedFrom: HAIKU,
    output: s1Calls[1]!.responseText,
  });
  const s3 = doc.subtasks.find((s) => s.id === 's3')!;
  expect(s3).toMatchObject({ status: 'failed', stopReason: 'refusal', escalatedFrom: HAIKU, output: null });
  expect(s3.error).toMatch(/^Refused: /);
  // s2 was never scripted: one call on the worker model.
  expect(calls.filter((e) => subtaskIdOf(e.lastUserText) === 's2').map((e) => e.model)).toEqual([HAIKU]);
});

test('an answer that misses the output schema gets one repair round, then is escalated', async () => {
  const word = 'schemacase';
  const schema = {
    type: 'object',
    properties: { river: { type: 'string' }, lengthKm: { type: 'number' } },
    required: ['river', 'lengthKm'],
    additionalProperties: false,
  };
  stack.sim.scriptAnswer(
    // s1: invalid once, valid after the repair round.
    { match: { textIncludes: subtaskMarker('s1', 2, word) }, invalidOutput: true },
    // s2: invalid on Haiku twice (answer and repair), valid on Sonnet.
    { match: { textIncludes: subtaskMarker('s2', 2, word), model: HAIKU }, invalidOutput: true, times: 2 },
  );
  const doc = await run({ job: `${word} the longest rivers`, maxSubtasks: 2, subtaskOutputSchema: schema });
  expect(doc.status).toBe('completed');
  const calls = callsOf(word);
  const s1Calls = calls.filter((e) => subtaskIdOf(e.lastUserText) === 's1');
  const s2Calls = calls.filter((e) => subtaskIdOf(e.lastUserText) === 's2');
  expect(s1Calls.every((e) => e.structured)).toBe(true);
  expect(s1Calls.map((e) => e.model)).toEqual([HAIKU, HAIKU]);
  expect(s1Calls[1]!.lastUserText).toMatch(/did not match the required format/);
  expect(s2Calls.map((e) => e.model)).toEqual([HAIKU, HAIKU, SONNET]);
  for (const s of doc.subtasks) {
    const value = JSON.parse(s.output!) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(['lengthKm', 'river']);
  }
  expect(doc.subtasks.find((s) => s.id === 's1')).toMatchObject({ model: HAIKU, escalatedFrom: null });
  expect(doc.subtasks.find((s) => s.id === 's2')).toMatchObject({ model: SONNET, escalatedFrom: HAIKU });
});

test('routing puts strong subtasks on the strong model, fast ones on the worker model; --route off pins them all', async () => {
  const word = 'routingcase';
  const tiers = ['fast', 'strong', 'fast', 'strong'];
  stack.sim.scriptAnswer({ match: { textIncludes: word, model: SONNET }, fields: { tier: tiers } });
  const doc = await run({ job: `${word} check these API references`, maxSubtasks: 4 });
  expect(doc.plan!.subtasks.map((s) => s.tier)).toEqual(tiers);
  const calls = callsOf(word);
  for (const s of doc.plan!.subtasks) {
    const want = s.tier === 'strong' ? SONNET : HAIKU;
    expect(calls.filter((e) => subtaskIdOf(e.lastUserText) === s.id).map((e) => e.model)).toEqual([want]);
    expect(doc.subtasks.find((r) => r.id === s.id)).toMatchObject({ model: want, escalatedFrom: null });
    expect(s.kind).toBeTruthy();
    expect(s.tierReason).toBeTruthy();
  }
  // The cost report prices the same tokens all on the strong model: routing saved the difference.
  expect(doc.costReport!.strongModel).toBe(SONNET);
  expect(doc.costReport!.allStrongUsd).toBeGreaterThan(doc.costReport!.actualUsd);
  expect(doc.costReport!.savingsUsd.routing).toBeGreaterThan(0);

  const offWord = 'routeoffcase';
  stack.sim.scriptAnswer({ match: { textIncludes: offWord, model: SONNET }, fields: { tier: tiers } });
  const off = await run({ job: `${offWord} check these API references`, maxSubtasks: 4, route: 'off' });
  const subtaskCalls = callsOf(offWord).filter((e) => subtaskIdOf(e.lastUserText) !== null);
  expect(subtaskCalls).toHaveLength(4);
  expect(subtaskCalls.every((e) => e.model === HAIKU)).toBe(true);
  expect(off.subtasks.every((s) => s.model === HAIKU)).toBe(true);
});

test('routing holds in batch-api mode: strong subtasks go into the batch on the strong model', async () => {
  const word = 'batchroutingcase';
  const tiers = ['strong', 'fast', 'fast'];
  stack.sim.scriptAnswer({ match: { textIncludes: word, model: SONNET }, fields: { tier: tiers } });
  const id = await startJob(stack.rc, {
    job: `${word} check these API references`,
    maxSubtasks: 3,
    fanOut: 'batch-api',
    batchPollSeconds: 1,
  });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  expect(batchesOf(stack.sim, id)).toHaveLength(1);
  // No direct subtask call: all three came back from the batch, each on its tier's model, at half price.
  expect((await jobCallsOf(stack.sim, id)).filter((e) => e.activityType === 'runSubtask')).toHaveLength(0);
  expect(doc.subtasks.map((s) => s.model)).toEqual([SONNET, HAIKU, HAIKU]);
  expect(Object.keys(doc.usage.byModel).sort()).toEqual([HAIKU, SONNET]);
});
