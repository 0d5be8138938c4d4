/**
 * Budgets, the pre-flight and prompt caching, end to end against the simulator. Costs are checked
 * against what the simulator itself served (its `usage`, priced with shared/pricing.ts), never only
 * against what the workflow says it spent.
 */
import { getResult, startJob } from '../client/api';
import { costUsd, roundUsd } from '../shared/pricing';
import type { JobInputArg } from '../shared/schemas';
import * as SA from '../shared/search-attributes';
import type { RequestLogEntry } from '../simulator/types';
import { callsOf } from './helpers/calls';
import { runToDocument } from './helpers/jobs';
import { runCli, subtaskIdOf, useStack } from './helpers/stack';

const stack = useStack();
const HAIKU = 'claude-haiku-4-5';
const SONNET = 'claude-sonnet-4-6';

const run = (input: JobInputArg) => runToDocument(stack, input);
/** A job's own calls (and its sub-agents'), by workflow id, once none is in flight. */
const callsOfJob = (id: string) => callsOf(stack.sim, id);
/** Calls of a job the CLI refused to start: only its unique job text names them. */
const callsWithText = (word: string) => stack.sim.log.filter((e) => e.lastUserText.includes(word));
/** What the simulator billed for a call, from its own usage fields. */
const billed = (e: RequestLogEntry) =>
  e.path === '/v1/messages' && e.usage && e.model
    ? costUsd(e.model, {
        inputTokens: e.usage.input_tokens,
        outputTokens: e.usage.output_tokens,
        cacheReadTokens: e.usage.cache_read_input_tokens ?? 0,
        cacheWriteTokens: e.usage.cache_creation_input_tokens ?? 0,
      })
    : 0;

test('budget invariant over randomized runs: what the calls cost never exceeds budgetUsd (concurrency 8)', async () => {
  // Deterministic "random": the runs differ in budget, subtask count and answer lengths.
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const runs = 6;
  let exhaustedRuns = 0;
  for (let i = 0; i < runs; i++) {
    const word = `invariantrun${i}`;
    const budgetUsd = roundUsd(0.4 + rnd() * 0.25);
    const maxSubtasks = 10 + Math.floor(rnd() * 15);
    // Answers from a few tokens to past max_tokens (continuations and escalations cost too).
    stack.sim.scriptAnswer({ match: { textIncludes: word, model: HAIKU }, lengthTokens: [50, 2_300], sticky: true });
    const doc = await run({ job: `${word} write notes on bridges`, maxSubtasks, concurrency: 8, budgetUsd });
    const served = roundUsd((await callsOfJob(doc.workflowId)).reduce((n, e) => n + billed(e), 0));
    expect(served).toBeLessThanOrEqual(budgetUsd);
    expect(doc.budget!.spentUsd).toBeCloseTo(served, 5);
    expect(doc.usage.costUsd).toBeCloseTo(served, 5);
    expect(doc.budget!.limitUsd).toBe(budgetUsd);
    expect(doc.answer).not.toBeNull();
    if (doc.budget!.exhausted) {
      exhaustedRuns++;
      expect(doc.status).toBe('partial');
      expect(doc.error).toMatch(/^BudgetExhausted: /);
    }
  }
  // The budgets were chosen so that the ceiling is actually reached in some runs.
  expect(exhaustedRuns).toBeGreaterThan(0);
});

test('a budget exhausted mid-fan-out: finished subtasks are synthesized, the rest skipped, the job partial and findable', async () => {
  const word = 'exhaustioncase';
  stack.sim.scriptAnswer({ match: { textIncludes: word, model: HAIKU }, lengthTokens: 2_000, sticky: true });
  const id = await startJob(stack.rc, {
    job: `${word} describe thirty castles`,
    maxSubtasks: 30,
    concurrency: 8,
    budgetUsd: 0.5,
  });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('partial');
  expect(doc.budget).toMatchObject({ limitUsd: 0.5, exhausted: true });
  const done = doc.subtasks.filter((s) => s.status === 'completed');
  const skipped = doc.subtasks.filter((s) => s.status === 'skipped');
  expect(done.length).toBeGreaterThan(0);
  expect(skipped.length).toBeGreaterThan(0);
  expect(done.length + skipped.length).toBe(30);

  const calls = (await callsOfJob(id)).filter((e) => e.path === '/v1/messages');
  // Skipped subtasks were never asked; the synthesis ran last and read every finished output.
  for (const s of skipped) expect(calls.some((e) => subtaskIdOf(e.lastUserText) === s.id)).toBe(false);
  const synth = calls[calls.length - 1]!;
  expect(synth.model).toBe('claude-sonnet-4-6');
  expect(doc.answer).toBe(synth.responseText);
  for (const s of done) expect(synth.lastUserText).toContain(`<result id="${s.id}"`);
  expect(roundUsd(calls.reduce((n, e) => n + billed(e), 0))).toBeLessThanOrEqual(0.5);

  const d = await stack.client.workflow.getHandle(id).describe();
  expect(d.typedSearchAttributes.get(SA.RengaBudgetExhausted)).toBe(true);
});

test('pre-flight: a context too large for the worker model fails at once, naming the numbers, before any model call', async () => {
  const word = 'oversizecase';
  // 900,000 characters: about 225,000 tokens, past a 200,000-token context window.
  const context = [{ name: 'huge.txt', content: `${word} `.repeat(75_000) }];
  const doc = await run({ job: `${word} summarise the file`, context });
  expect(doc.status).toBe('failed');
  expect(doc.error).toMatch(
    /^ContextTooLarge: .*\d+ tokens on claude-(sonnet-4-6|haiku-4-5).*200000-token context window/,
  );
  expect(doc.usage.costUsd).toBe(0);
  const calls = await callsOfJob(doc.workflowId);
  expect(calls.length).toBeGreaterThan(0);
  expect(calls.every((e) => e.path === '/v1/messages/count_tokens')).toBe(true);
});

test('pre-flight: a budget below what planning and synthesis can cost fails at once, naming the numbers', async () => {
  const word = 'tinybudgetcase';
  const r = await runCli(stack, ['run', `${word} plan a garden`, '--budget-usd', '0.01']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/BudgetTooSmall: the budget of \$0\.01 is less than the \$[\d.]+ that planning/);
  expect(callsWithText(word).every((e) => e.path === '/v1/messages/count_tokens')).toBe(true);
});

test('pre-flight: a budget the uncounted worst case clearly covers starts planning without counting, and still bounds the spend', async () => {
  const word = 'coveredbudgetcase';
  // $5 covers every planning round, a subtask and the synthesis even at the dearest model's prices.
  const doc = await run({ job: `${word} list five harbours`, maxSubtasks: 5, concurrency: 5, budgetUsd: 5 });
  expect(doc.status).toBe('completed');
  const calls = await callsOfJob(doc.workflowId);
  expect(calls.filter((e) => e.path === '/v1/messages/count_tokens')).toHaveLength(0);
  expect(calls.filter((e) => e.path === '/v1/messages').length).toBe(7);
  const served = roundUsd(calls.reduce((n, e) => n + billed(e), 0));
  expect(doc.budget).toMatchObject({ limitUsd: 5, exhausted: false });
  expect(doc.budget!.spentUsd).toBeCloseTo(served, 5);
});

test('caching: the first worker call writes the shared context once, the others read it (from the simulator usage)', async () => {
  const word = 'cachecase';
  // ~20,000 tokens of context: above Haiku 4.5's 4,096-token cache minimum.
  const context = [
    { name: 'notes.txt', content: `${word} ${'The harbour logbook records tides and ships. '.repeat(1_800)}` },
  ];
  const doc = await run({ job: `${word} answer questions on the logbook`, context, maxSubtasks: 6, concurrency: 6 });
  expect(doc.status).toBe('completed');
  const calls = (await callsOfJob(doc.workflowId)).filter((e) => e.path === '/v1/messages');
  const haiku = calls.filter((e) => e.model === HAIKU);
  expect(haiku).toHaveLength(6);
  // Exactly one Haiku call wrote the cache, and it finished before any other Haiku call started reading.
  const writes = haiku.filter((e) => (e.usage!.cache_creation_input_tokens ?? 0) > 0);
  expect(writes).toHaveLength(1);
  expect(haiku.filter((e) => (e.usage!.cache_read_input_tokens ?? 0) > 0)).toHaveLength(5);
  // The planner wrote Sonnet's cache; the synthesis read it.
  const sonnet = calls.filter((e) => e.model === 'claude-sonnet-4-6');
  expect(sonnet[0]!.usage!.cache_creation_input_tokens).toBeGreaterThan(0);
  expect(sonnet[sonnet.length - 1]!.usage!.cache_read_input_tokens).toBeGreaterThan(0);
  // The result reports the same cache tokens the simulator served, and prices them.
  const sum = (k: 'cache_read_input_tokens' | 'cache_creation_input_tokens') =>
    calls.reduce((n, e) => n + (e.usage![k] ?? 0), 0);
  const reads = doc.subtasks.reduce((n, s) => n + s.usage.cacheReadTokens, 0);
  expect(reads).toBe(haiku.reduce((n, e) => n + (e.usage!.cache_read_input_tokens ?? 0), 0));
  expect(sum('cache_read_input_tokens')).toBeGreaterThan(0);
  expect(doc.usage.costUsd).toBeCloseTo(roundUsd(calls.reduce((n, e) => n + billed(e), 0)), 5);
  expect(doc.costReport!.savingsUsd.caching).toBeGreaterThan(0);
});

test('a paid planning attempt that failed (an invalid plan, then a fresh attempt) counts in the budget and the cost', async () => {
  const word = 'planretrybudget';
  // The first attempt's answer and its repair round are invalid: that attempt fails, paid; the next plans.
  stack.sim.scriptAnswer(
    { match: { textIncludes: word, model: SONNET }, invalidJson: 'no plan here {' },
    { match: { textIncludes: 'Answer again with corrected JSON only' }, invalidJson: 'still no plan {' },
  );
  const budgetUsd = 2;
  const id = await startJob(stack.rc, { job: `${word} describe four rivers`, maxSubtasks: 4, budgetUsd });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  const calls = (await callsOf(stack.sim, id)).filter((e) => e.path === '/v1/messages' && e.outcome === 'ok');
  const planning = calls.filter((e) => e.activityType === 'planJob');
  expect(planning).toHaveLength(3);
  const served = roundUsd(calls.reduce((n, e) => n + billed(e), 0));
  const planningServed = roundUsd(planning.reduce((n, e) => n + billed(e), 0));
  expect(planningServed).toBeGreaterThan(0);
  // Every call, the failed attempt's two included, is in the budget's spend, the usage and the cost report.
  expect(doc.budget!.spentUsd).toBeCloseTo(served, 6);
  expect(doc.usage.costUsd).toBeCloseTo(served, 6);
  expect(doc.costReport!.actualUsd).toBeCloseTo(served, 6);
  expect(doc.usage.byModel[SONNET]!.outputTokens).toBe(
    calls.filter((e) => e.model === SONNET).reduce((n, e) => n + e.usage!.output_tokens, 0),
  );
});

test("sub-agents under a budget: each turn is reserved within the sub-agent's share; the calls never cost more than budgetUsd", async () => {
  // Deterministic "random": budgets and loop lengths differ per run; the ceiling is reached in some.
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let exhaustedRuns = 0;
  for (let i = 0; i < 4; i++) {
    const word = `agentbudget${i}`;
    const budgetUsd = roundUsd(0.48 + rnd() * 0.12);
    stack.sim.scriptAnswer({ match: { textIncludes: word, model: HAIKU }, lengthTokens: [200, 2_000], sticky: true });
    const doc = await run({
      job: `${word} count the words of each note [sim:tool-turns=3-8]`,
      maxSubtasks: 8,
      concurrency: 4,
      tools: ['word_count'],
      maxTurns: 12,
      // ~20,000 tokens of shared context: every turn pays for it (a cache write, then reads).
      context: [{ name: 'notes.txt', content: `${word} ${'Field notes on rivers, weirs and locks. '.repeat(1_500)}` }],
      budgetUsd,
    });
    const calls = await callsOfJob(doc.workflowId);
    const served = roundUsd(calls.reduce((n, e) => n + billed(e), 0));
    expect(served).toBeLessThanOrEqual(budgetUsd);
    expect(doc.budget!.spentUsd).toBeCloseTo(served, 5);
    // Every sub-agent turn the simulator served is in the document's usage.
    expect(doc.usage.costUsd).toBeCloseTo(served, 5);
    expect(calls.some((e) => e.agent)).toBe(true);
    if (doc.budget!.exhausted) {
      exhaustedRuns++;
      expect(doc.status).toBe('partial');
      expect(doc.error).toMatch(/^BudgetExhausted: /);
      expect(doc.answer).not.toBeNull();
      const skipped = doc.subtasks.filter((s) => s.status === 'skipped');
      expect(skipped.length).toBeGreaterThan(0);
      // A sub-agent stopped mid-loop keeps what its finished turns cost and did.
      for (const s of skipped.filter((x) => (x.turns ?? 0) > 0)) expect(s.error).toMatch(/^BudgetExhausted: turn \d+/);
    } else {
      expect(doc.status).toBe('completed');
    }
  }
  expect(exhaustedRuns).toBeGreaterThan(0);
});
