/**
 * The simulator's rate limits (simulator/rate-limits.ts) through the real SDK over HTTP: token
 * buckets per model family with the API's headers on every answer, 429 + retry-after beyond the
 * limit, `max_tokens` charged up front and refunded, limits changed at run time over HTTP.
 */
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator } from '../simulator/server';
import type { Simulator } from '../simulator/types';

let sim: Simulator;
let client: Anthropic;

beforeAll(async () => {
  sim = await startSimulator({
    rateLimits: { families: { haiku: { rpm: 3, otpm: 1_000 } } },
  });
  client = new Anthropic({ apiKey: 'k', baseURL: sim.url, maxRetries: 0 });
});
afterAll(() => sim.close());

const ask = (text: string, model = 'claude-haiku-4-5', maxTokens = 100) =>
  client.messages.create({ model, max_tokens: maxTokens, messages: [{ role: 'user', content: text }] }).withResponse();

test('answers carry the bucket state; past the limit a 429 says when to retry; other families are not limited', async () => {
  const first = await ask('rl one');
  const h = first.response.headers;
  expect(h.get('anthropic-ratelimit-requests-limit')).toBe('3');
  expect(h.get('anthropic-ratelimit-requests-remaining')).toBe('2');
  expect(h.get('anthropic-ratelimit-output-tokens-limit')).toBe('1000');
  // max_tokens is charged on arrival; what the answer did not use comes back afterwards.
  expect(Number(h.get('anthropic-ratelimit-output-tokens-remaining'))).toBe(900);
  expect(Date.parse(h.get('anthropic-ratelimit-requests-reset')!)).toBeGreaterThan(Date.now() - 1000);

  await ask('rl two');
  await ask('rl three');
  const refused = await ask('rl four').then(
    () => null,
    (e: unknown) => e,
  );
  expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
  const err = refused as InstanceType<typeof Anthropic.RateLimitError>;
  // 3 RPM refill one request every 20 s.
  expect(Number(err.headers.get('retry-after'))).toBeGreaterThanOrEqual(15);
  expect(err.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
  expect(err.message).toMatch(/3 requests per minute for haiku/);
  const log = sim.log.filter((e) => e.lastUserText.startsWith('rl '));
  expect(log.map((e) => [e.status, e.fault])).toEqual([
    [200, null],
    [200, null],
    [200, null],
    [429, 'overLimit'],
  ]);
  // The shadow bucket also charged the refused request.
  expect(log.map((e) => e.rateLimitShadow)).toEqual([
    2,
    expect.closeTo(1, 1),
    expect.closeTo(0, 1),
    expect.any(Number),
  ]);
  expect(log[3]!.rateLimitShadow!).toBeLessThan(0);

  const sonnet = await ask('rl sonnet', 'claude-sonnet-4-6');
  expect(Number(sonnet.response.headers.get('anthropic-ratelimit-requests-remaining'))).toBeGreaterThan(100);

  expect(sim.rateLimitAccounting().haiku).toMatchObject({ admitted: 3, refused: 1 });
});

test('POST /_sim/rate-limits changes the limits at run time; bad input is refused', async () => {
  const bad = await fetch(`${sim.url}/_sim/rate-limits`, {
    method: 'POST',
    body: JSON.stringify({ families: { haiku: { rpm: -1 } } }),
  });
  expect(bad.status).toBe(400);

  const ok = await fetch(`${sim.url}/_sim/rate-limits`, {
    method: 'POST',
    body: JSON.stringify({ families: { haiku: { rpm: 600, itpm: 100_000 } }, burstSeconds: 6 }),
  });
  expect(ok.status).toBe(200);
  // The bucket keeps its (empty) fill across the change: the SDK's own retry honours retry-after.
  const retrying = new Anthropic({ apiKey: 'k', baseURL: sim.url, maxRetries: 3 });
  const answer = await retrying.messages
    .create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'rl after change' }] })
    .withResponse();
  expect(answer.response.headers.get('anthropic-ratelimit-requests-limit')).toBe('600');
  expect(answer.response.headers.get('anthropic-ratelimit-input-tokens-limit')).toBe('100000');
  // The output limit was dropped: the API's own (large) figure is back.
  expect(Number(answer.response.headers.get('anthropic-ratelimit-output-tokens-limit'))).toBeGreaterThan(1_000);

  const state = (await (await fetch(`${sim.url}/_sim/rate-limits`)).json()) as {
    config: { burstSeconds: number };
    accounting: { haiku: { limits: { rpm: number } } };
  };
  expect(state.config.burstSeconds).toBe(6);
  expect(state.accounting.haiku.limits.rpm).toBe(600);
});
