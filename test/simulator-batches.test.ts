/**
 * The simulator's Message Batches endpoints through the real @anthropic-ai/sdk client:
 * in_progress → ended, request_counts, results_url and JSONL results, injected errored/expired
 * items, cancel, validation and auth errors.
 */
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator } from '../simulator/server';
import type { Simulator } from '../simulator/types';
import { waitUntil } from './helpers/stack';

let sim: Simulator;
let client: Anthropic;

beforeAll(async () => {
  sim = await startSimulator({
    apiKey: 'sim-key',
    batches: { processingMs: 300, erroredIncludes: ['break me'], expiredIncludes: ['too late'] },
  });
  client = new Anthropic({ apiKey: 'sim-key', baseURL: sim.url, maxRetries: 0 });
});
afterAll(async () => {
  await sim.close();
});

const request = (id: string, text: string, model = 'claude-haiku-4-5') => ({
  custom_id: id,
  params: { model, max_tokens: 200, messages: [{ role: 'user' as const, content: text }] },
});

test('a batch is in_progress, then ended with counts, a results URL and JSONL results the SDK decodes', async () => {
  const created = await client.messages.batches.create({
    requests: [
      request('a', 'hello there'),
      request('b', 'please break me'),
      request('c', 'too late now'),
      request('d', 'hi', 'claude-nonexistent-9'),
    ],
  });
  expect(created).toMatchObject({
    type: 'message_batch',
    processing_status: 'in_progress',
    results_url: null,
    ended_at: null,
  });
  expect(created.request_counts).toEqual({ processing: 4, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
  expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(24 * 3600 * 1000);
  await expect(client.messages.batches.results(created.id)).rejects.toThrow(/No batch `results_url`/);

  const ended = await waitUntil(async () => {
    const b = await client.messages.batches.retrieve(created.id);
    return b.processing_status === 'ended' ? b : undefined;
  }, 'the batch has ended');
  expect(ended.request_counts).toEqual({ processing: 0, succeeded: 1, errored: 2, canceled: 0, expired: 1 });
  expect(ended.results_url).toBe(`${sim.url}/v1/messages/batches/${created.id}/results`);

  const results: Record<string, Anthropic.Messages.MessageBatchResult> = {};
  for await (const line of await client.messages.batches.results(created.id)) results[line.custom_id] = line.result;
  expect(results.a!.type).toBe('succeeded');
  if (results.a!.type === 'succeeded') {
    expect(results.a!.message.content[0]).toMatchObject({ type: 'text' });
    expect(results.a!.message.usage.service_tier).toBe('batch');
  }
  expect(results.b).toMatchObject({ type: 'errored', error: { type: 'error', error: { type: 'api_error' } } });
  expect(results.c).toEqual({ type: 'expired' });
  expect(results.d).toMatchObject({ type: 'errored', error: { error: { type: 'not_found_error' } } });
  expect(sim.batches.at(-1)).toMatchObject({ id: created.id, customIds: ['a', 'b', 'c', 'd'], resultsFetches: 1 });
});

test('cancel before the end: canceling, then ended with every item canceled', async () => {
  sim.configure({ batches: { processingMs: 60_000 } });
  const created = await client.messages.batches.create({ requests: [request('x', 'one'), request('y', 'two')] });
  const canceling = await client.messages.batches.cancel(created.id);
  expect(canceling.processing_status).toBe('canceling');
  expect(canceling.cancel_initiated_at).not.toBeNull();
  const ended = await waitUntil(async () => {
    const b = await client.messages.batches.retrieve(created.id);
    return b.processing_status === 'ended' ? b : undefined;
  }, 'the canceled batch has ended');
  expect(ended.request_counts).toMatchObject({ canceled: 2, succeeded: 0 });
  const types: string[] = [];
  for await (const line of await client.messages.batches.results(created.id)) types.push(line.result.type);
  expect(types).toEqual(['canceled', 'canceled']);
  sim.configure({ batches: { processingMs: 300 } });
});

test('bad batches are refused as the API does: 400 naming the field, 404 for an unknown batch, 401 for a bad key', async () => {
  await expect(client.messages.batches.create({ requests: [] })).rejects.toMatchObject({
    status: 400,
    message: expect.stringMatching(/requests: List should have at least 1 item/),
  });
  await expect(
    client.messages.batches.create({ requests: [request('a', 'x'), request('a', 'y')] }),
  ).rejects.toMatchObject({
    status: 400,
    message: expect.stringMatching(/duplicate custom_id 'a'/),
  });
  await expect(
    client.messages.batches.create({
      requests: [
        { custom_id: 'z', params: { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] } as never },
      ],
    }),
  ).rejects.toMatchObject({
    status: 400,
    message: expect.stringMatching(/requests\.0\.params\.max_tokens: Field required/),
  });
  await expect(client.messages.batches.retrieve('msgbatch_nope')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  const wrongKey = new Anthropic({ apiKey: 'wrong', baseURL: sim.url, maxRetries: 0 });
  await expect(wrongKey.messages.batches.create({ requests: [request('a', 'x')] })).rejects.toBeInstanceOf(
    Anthropic.AuthenticationError,
  );
});
