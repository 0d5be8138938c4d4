/**
 * The pieces of spend control that need no server: the simulator's prompt cache and scripted stop
 * reasons through the real SDK, the cost report's arithmetic, and the workflow's prompt-size bound.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import * as prompts from '../activities/prompts';
import { costReport } from '../shared/cost-report';
import { costUsd, worstCaseUsd } from '../shared/pricing';
import { startSimulator, type Simulator } from '../simulator/server';
import { PROMPT_OVERHEAD_CHARS } from '../workflows/spend';

let sim: Simulator;
let client: Anthropic;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'sim-key' });
  client = new Anthropic({ baseURL: sim.url, apiKey: 'sim-key', maxRetries: 0 });
});
afterAll(() => sim.close());

const cached = (text: string): TextBlockParam => ({ type: 'text', text, cache_control: { type: 'ephemeral' } });
const ask = (model: string, shared: string, question: string) =>
  client.messages.create({
    model,
    max_tokens: 256,
    system: 'You are terse.',
    messages: [{ role: 'user', content: [cached(shared), { type: 'text', text: question }] }],
  });

test('simulator cache: a prefix above the model minimum is written once, then read; per model; below it nothing is cached', async () => {
  const shared = 'Tide tables for the harbour, hour by hour. '.repeat(600); // ~6,500 tokens
  const first = await ask('claude-haiku-4-5', shared, 'When is high tide?');
  expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(4_096);
  expect(first.usage.cache_read_input_tokens).toBe(0);
  const second = await ask('claude-haiku-4-5', shared, 'When is low tide?');
  expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
  expect(second.usage.cache_creation_input_tokens).toBe(0);
  // Input as billed is the same whichever way it was paid.
  const total = (u: Anthropic.Usage) =>
    u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
  expect(total(second.usage)).toBeGreaterThan(second.usage.input_tokens);
  // The cache is per model: Sonnet writes its own.
  const sonnet = await ask('claude-sonnet-4-6', shared, 'When is high tide?');
  expect(sonnet.usage.cache_creation_input_tokens).toBeGreaterThan(0);

  // ~2,000 tokens: above Sonnet's 1,024 minimum, below Haiku 4.5's 4,096.
  const small = 'Ship arrivals are logged by the harbour master. '.repeat(170);
  await ask('claude-haiku-4-5', small, 'a');
  const haikuAgain = await ask('claude-haiku-4-5', small, 'b');
  expect(haikuAgain.usage.cache_read_input_tokens).toBe(0);
  expect(haikuAgain.usage.cache_creation_input_tokens).toBe(0);
  await ask('claude-sonnet-4-6', small, 'a');
  expect((await ask('claude-sonnet-4-6', small, 'b')).usage.cache_read_input_tokens).toBeGreaterThan(1_024);
});

test('simulator scripted answers: max_tokens cuts the answer at the limit, refusal declines, both streamed like the service', async () => {
  sim.scriptAnswer(
    { match: { textIncludes: 'cut-me' }, stopReason: 'max_tokens' },
    { match: { textIncludes: 'refuse-me' }, stopReason: 'refusal' },
  );
  const cut = await client.messages
    .stream({ model: 'claude-haiku-4-5', max_tokens: 40, messages: [{ role: 'user', content: 'cut-me please' }] })
    .finalMessage();
  expect(cut.stop_reason).toBe('max_tokens');
  expect(cut.usage.output_tokens).toBe(40);
  const refused = await client.messages.create({
    model: 'claude-haiku-4-5',
    max_tokens: 40,
    messages: [{ role: 'user', content: 'refuse-me please' }],
  });
  expect(refused.stop_reason).toBe('refusal');
  // Used once each: the same request now ends normally.
  const again = await client.messages.create({
    model: 'claude-haiku-4-5',
    max_tokens: 400,
    messages: [{ role: 'user', content: 'refuse-me please' }],
  });
  expect(again.stop_reason).toBe('end_turn');
});

test('cost report: the three savings add up to all-strong minus actual', () => {
  const calls = [
    {
      model: 'claude-haiku-4-5',
      usage: { inputTokens: 100, outputTokens: 500, cacheReadTokens: 20_000, cacheWriteTokens: 0 },
    },
    {
      model: 'claude-haiku-4-5',
      usage: { inputTokens: 100, outputTokens: 500, cacheReadTokens: 0, cacheWriteTokens: 20_000 },
    },
    {
      model: 'claude-sonnet-4-6',
      usage: { inputTokens: 3_000, outputTokens: 2_000, cacheReadTokens: 0, cacheWriteTokens: 0 },
    },
  ].map((c, i) => ({ ...c, costUsd: costUsd(c.model, c.usage, { batch: i === 0 }) }));
  const r = costReport(calls, 'claude-sonnet-4-6');
  const s = r.savingsUsd;
  expect(s.routing + s.caching + s.batches).toBeCloseTo(r.allStrongUsd - r.actualUsd, 5);
  expect(s.routing).toBeGreaterThan(0);
  expect(s.caching).toBeGreaterThan(0);
  expect(s.batches).toBeGreaterThan(0);
  expect(r.ratio).toBeLessThan(1);
});

test('worst case prices every input token as a cache write and every allowed output token', () => {
  expect(worstCaseUsd('claude-haiku-4-5', { inputTokens: 1_000_000, maxOutputTokens: 1_000_000 })).toBeCloseTo(
    1.25 + 5,
    6,
  );
  // An unknown model is priced as the dearest known one, never as free.
  expect(worstCaseUsd('some-new-model', { inputTokens: 0, maxOutputTokens: 1_000_000 })).toBeGreaterThanOrEqual(25);
});

test("the workflow's prompt overhead bound covers every role's instructions and framing", () => {
  for (const role of [prompts.PLANNER_SYSTEM, prompts.WORKER_SYSTEM, prompts.SYNTHESIZER_SYSTEM]) {
    const around = prompts.SYSTEM.length + prompts.roleText(role).length + prompts.plannerUserText(10_000).length;
    expect(around + prompts.repairText('').length).toBeLessThan(PROMPT_OVERHEAD_CHARS);
  }
});
