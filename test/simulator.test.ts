// The simulator is checked through the real SDK over real HTTP: if the SDK parses it, so will the worker.
import Anthropic, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ContentTooLargeError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import type { MessageCreateParamsNonStreaming, MessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { z } from 'zod';
import { startSimulator, type RequestLogEntry, type Simulator } from '../simulator/server';
import { generateFromSchema } from '../simulator/generate';
import { waitUntil } from './helpers/wait';

const MODEL = 'claude-haiku-4-5';

let sim: Simulator;
let client: Anthropic;

function newClient(s: Simulator, apiKey = 'sim-key'): Anthropic {
  return new Anthropic({ baseURL: s.url, apiKey, maxRetries: 0 });
}

function ask(text: string, extra: Partial<MessageCreateParamsNonStreaming> = {}): MessageCreateParamsNonStreaming {
  return { model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: text }], ...extra };
}

/** The rejection of `p`, so a test can inspect it; fails the test if `p` resolves. */
async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

function textOf(msg: Anthropic.Message): string {
  return msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

function lastLog(s: Simulator = sim): RequestLogEntry {
  const entry = s.log[s.log.length - 1];
  if (!entry) throw new Error('log is empty');
  return entry;
}

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'sim-key', seed: 1 });
  client = newClient(sim);
});

afterAll(async () => {
  await sim.close();
});

beforeEach(async () => {
  sim.configure({ faults: {}, latencyMs: 0, streamChunkDelayMs: 0, seed: 1 });
  // The previous test's aborted calls get their final log entry when the simulator notices the abort:
  // wait for that, so this test's log holds only its own calls.
  await waitUntil(() => sim.inFlight().length === 0, "the previous test's calls have settled");
  sim.clearLog();
});

describe('successful messages', () => {
  test('plain message: deterministic text, usage and log entry', async () => {
    const prompt = 'Summarise the history of durable execution engines in three sentences.';
    const msg = await client.messages.create(ask(prompt, { system: 'You are terse.' }));

    expect(msg.id).toMatch(/^msg_sim_/);
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.model).toBe(MODEL);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.content).toHaveLength(1);
    const text = textOf(msg);
    expect(text).toContain(`Simulated answer from ${MODEL}`);
    expect(text).toContain(prompt);

    expect(msg.usage.input_tokens).toBe(Math.ceil(('You are terse.'.length + prompt.length) / 4));
    expect(msg.usage.output_tokens).toBe(Math.ceil(text.length / 4));
    expect(msg.usage.cache_read_input_tokens).toBe(0);
    expect(msg.usage.cache_creation_input_tokens).toBe(0);
    expect(msg.usage.service_tier).toBe('standard');
    expect(msg._request_id).toMatch(/^req_sim_/);

    const again = await client.messages.create(ask(prompt, { system: 'You are terse.' }));
    expect(textOf(again)).toBe(text);
    const other = await client.messages.create(ask(prompt, { system: 'You are verbose.' }));
    expect(textOf(other)).not.toBe(text);

    const entry = sim.log[0]!;
    expect(entry).toMatchObject({
      seq: expect.any(Number),
      method: 'POST',
      path: '/v1/messages',
      model: MODEL,
      stream: false,
      structured: false,
      system: 'You are terse.',
      lastUserText: prompt,
      status: 200,
      outcome: 'ok',
      fault: null,
      usage: { input_tokens: msg.usage.input_tokens, output_tokens: msg.usage.output_tokens },
      responseText: text,
    });
    expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
  });

  test('lastUserText joins the text blocks of the last user turn', async () => {
    await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'part one' },
            { type: 'text', text: 'part two' },
          ],
        },
      ],
    });
    expect(lastLog().lastUserText).toBe('part one\npart two');
  });

  test('streaming yields the same final message as the non-streaming call', async () => {
    const prompt = 'Stream me a deterministic answer about fan-out concurrency limits, please.';
    const plain = await client.messages.create(ask(prompt));

    const stream = client.messages.stream(ask(prompt));
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();

    expect(textOf(final)).toBe(textOf(plain));
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe(textOf(plain));
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.input_tokens).toBe(plain.usage.input_tokens);
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(lastLog()).toMatchObject({ stream: true, status: 200, outcome: 'ok', responseText: textOf(plain) });
  });

  test('max_tokens cuts the answer off like the real model', async () => {
    const msg = await client.messages.create(
      ask('A question long enough to need more than two tokens', { max_tokens: 2 }),
    );
    expect(msg.stop_reason).toBe('max_tokens');
    expect(textOf(msg)).toHaveLength(8);
    expect(msg.usage.output_tokens).toBe(2);
  });

  test('count_tokens matches the input estimate of create', async () => {
    const params = ask('How many tokens is this prompt, roughly speaking?', { system: 'sys' });
    const counted = await client.messages.countTokens({
      model: params.model,
      messages: params.messages,
      system: 'sys',
    });
    const msg = await client.messages.create(params);
    expect(counted.input_tokens).toBe(msg.usage.input_tokens);
    expect(sim.log[0]).toMatchObject({ path: '/v1/messages/count_tokens', outcome: 'ok' });
  });
});

describe('structured output', () => {
  const Plan = z.object({
    subtasks: z
      .array(
        z.object({
          id: z.string(),
          title: z.string(),
          instructions: z.string(),
          priority: z.enum(['low', 'medium', 'high']),
          estimate: z.object({ hours: z.number(), confident: z.boolean() }),
          tags: z.array(z.string()),
          parent: z.string().nullable(),
        }),
      )
      .min(1),
    rationale: z.string(),
  });

  test('output_config json_schema from zod parses through messages.parse', async () => {
    const msg = await client.messages.parse({
      model: MODEL,
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'Plan a report on Temporal retry policies' }],
      output_config: { format: zodOutputFormat(Plan) },
    });
    const plan = msg.parsed_output;
    expect(plan).not.toBeNull();
    expect(Plan.safeParse(plan).success).toBe(true);
    expect(plan!.subtasks).toHaveLength(3);
    expect(plan!.subtasks[1]!.title).toBe('title 2: plan report temporal retry');
    expect(lastLog()).toMatchObject({ structured: true, outcome: 'ok' });
    expect(JSON.parse(lastLog().responseText!)).toEqual(plan);
  });

  test('hand-written schema with $defs, anyOf, nullable, bounds and const is satisfied', async () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'items', 'score', 'count', 'note', 'choice', 'pair'],
      properties: {
        kind: { const: 'report' },
        items: { type: 'array', minItems: 2, maxItems: 4, items: { $ref: '#/$defs/item' } },
        score: { type: 'number', minimum: 10, maximum: 20 },
        count: { type: 'integer', exclusiveMinimum: 5, maximum: 6 },
        note: { type: ['string', 'null'], maxLength: 5 },
        choice: { anyOf: [{ type: 'integer', minimum: 100 }, { type: 'string' }] },
        pair: { type: 'array', minItems: 5, items: { type: 'boolean' } },
      },
      $defs: {
        item: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'level', 'child'],
          properties: {
            name: { type: 'string', minLength: 60 },
            level: { enum: ['a', 'b', 'c'] },
            child: { $ref: '#/definitions/leaf' },
          },
        },
      },
      definitions: {
        leaf: {
          type: 'object',
          properties: { ok: { type: 'boolean' } },
          required: ['ok'],
          additionalProperties: false,
        },
      },
    };
    const Expected = z.strictObject({
      kind: z.literal('report'),
      items: z
        .array(
          z.strictObject({
            name: z.string().min(60),
            level: z.enum(['a', 'b', 'c']),
            child: z.strictObject({ ok: z.boolean() }),
          }),
        )
        .min(2)
        .max(4),
      score: z.number().min(10).max(20),
      count: z.number().int().gt(5).max(6),
      note: z.string().max(5).nullable(),
      choice: z.union([z.number().int().min(100), z.string()]),
      pair: z.array(z.boolean()).min(5),
    });

    const msg = await client.messages.create(
      ask('Give me the report', { output_config: { format: { type: 'json_schema', schema } } }),
    );
    const data: unknown = JSON.parse(textOf(msg));
    const result = Expected.safeParse(data);
    expect(result.error).toBeUndefined();
    expect(result.data?.items).toHaveLength(4);
    expect(result.data?.pair).toHaveLength(5);
  });

  test('recursive schemas terminate', () => {
    const tree = {
      $ref: '#/$defs/node',
      $defs: {
        node: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } },
        },
      },
    };
    const value = generateFromSchema(tree, { words: 'w', arrayItems: 2 });
    expect(JSON.stringify(value).length).toBeGreaterThan(0);
  });

  test('forced tool use returns a tool_use block, streamed identically', async () => {
    const input_schema = {
      type: 'object' as const,
      properties: {
        city: { type: 'string' },
        days: { type: 'integer', minimum: 1, maximum: 7 },
        units: { type: 'string', enum: ['metric', 'imperial'] },
      },
      required: ['city', 'days', 'units'],
    };
    const params = ask('Weather for Lisbon next week', {
      tools: [
        { name: 'other', description: 'unused', input_schema: { type: 'object', properties: {} } },
        { name: 'get_weather', description: 'forecast', input_schema },
      ],
      tool_choice: { type: 'tool', name: 'get_weather' },
    });
    const msg = await client.messages.create(params);
    expect(msg.stop_reason).toBe('tool_use');
    const block = msg.content[0];
    if (block?.type !== 'tool_use') throw new Error(`expected tool_use, got ${block?.type}`);
    expect(block.id).toMatch(/^toolu_sim_/);
    expect(block.name).toBe('get_weather');
    const Input = z.strictObject({
      city: z.string(),
      days: z.number().int().min(1).max(7),
      units: z.enum(['metric', 'imperial']),
    });
    expect(Input.safeParse(block.input).success).toBe(true);
    expect(lastLog()).toMatchObject({ structured: true, responseText: JSON.stringify(block.input) });

    const streamed = await client.messages.stream(params).finalMessage();
    const sblock = streamed.content[0];
    if (sblock?.type !== 'tool_use') throw new Error(`expected tool_use, got ${sblock?.type}`);
    expect(sblock.input).toEqual(block.input);
    expect(streamed.stop_reason).toBe('tool_use');
  });
});

describe('errors map to the SDK error classes', () => {
  test('429 → RateLimitError with retry-after and rate-limit headers', async () => {
    sim.script({ kind: 'rateLimit', retryAfterSeconds: 7 });
    const err = await rejectionOf(client.messages.create(ask('hi')));
    expect(err).toBeInstanceOf(RateLimitError);
    const e = err as RateLimitError;
    expect(e.status).toBe(429);
    expect(e.headers.get('retry-after')).toBe('7');
    expect(e.headers.get('x-should-retry')).toBe('true');
    expect(e.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(e.headers.get('anthropic-ratelimit-input-tokens-limit')).toMatch(/^\d+$/);
    expect(e.headers.get('anthropic-ratelimit-output-tokens-reset')).toMatch(/Z$/);
    expect(e.type).toBe('rate_limit_error');
    expect(e.requestID).toMatch(/^req_sim_/);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' }, request_id: e.requestID });
    expect(lastLog()).toMatchObject({
      status: 429,
      outcome: 'fault',
      fault: 'rateLimit',
      usage: null,
      responseText: null,
    });
  });

  test('500 → InternalServerError, 529 → APIError status 529', async () => {
    sim.script({ kind: 'server' }, { kind: 'overloaded' });
    const e500 = await rejectionOf(client.messages.create(ask('hi')));
    expect(e500).toBeInstanceOf(InternalServerError);
    expect((e500 as APIError).status).toBe(500);
    expect((e500 as APIError).type).toBe('api_error');

    const e529 = await rejectionOf(client.messages.create(ask('hi')));
    expect(e529).toBeInstanceOf(APIError);
    expect((e529 as APIError).status).toBe(529);
    expect((e529 as APIError).type).toBe('overloaded_error');
    expect(sim.log.map((l) => [l.status, l.fault])).toEqual([
      [500, 'server'],
      [529, 'overloaded'],
    ]);
  });

  test('wrong api key → AuthenticationError (logged as a real error)', async () => {
    const err = await rejectionOf(newClient(sim, 'wrong-key').messages.create(ask('hi')));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(lastLog()).toMatchObject({ status: 401, outcome: 'error', fault: null });
  });

  test('unknown model → NotFoundError naming the model', async () => {
    const err = await rejectionOf(client.messages.create(ask('hi', { model: 'claude-nonexistent-9' })));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as APIError).apiMessage).toBe('model: claude-nonexistent-9');
    expect(lastLog()).toMatchObject({ status: 404, outcome: 'error', model: 'claude-nonexistent-9' });
  });

  test('invalid fields → BadRequestError naming the field', async () => {
    const badMax = await rejectionOf(client.messages.create(ask('hi', { max_tokens: 0 })));
    expect(badMax).toBeInstanceOf(BadRequestError);
    expect((badMax as APIError).apiMessage).toMatch(/^max_tokens:/);

    const noMessages = await rejectionOf(client.messages.create({ model: MODEL, max_tokens: 10, messages: [] }));
    expect(noMessages).toBeInstanceOf(BadRequestError);
    expect((noMessages as APIError).apiMessage).toMatch(/^messages:/);

    const badTool = await rejectionOf(
      client.messages.create(ask('hi', { tools: [], tool_choice: { type: 'tool', name: 'missing' } })),
    );
    expect(badTool).toBeInstanceOf(BadRequestError);
    expect((badTool as APIError).apiMessage).toMatch(/^tool_choice/);
    expect(sim.log.every((l) => l.status === 400 && l.outcome === 'error')).toBe(true);
  });

  test('raw HTTP: missing anthropic-version, bad JSON, oversized body, unknown path', async () => {
    const post = (body: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${sim.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'sim-key', 'content-type': 'application/json', ...headers },
        body,
      });
    const valid = JSON.stringify(ask('hi'));

    const noVersion = await post(valid);
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('anthropic-version') },
      request_id: expect.stringMatching(/^req_sim_/),
    });

    const badJson = await post('{not json', { 'anthropic-version': '2023-06-01' });
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get('request-id')).toMatch(/^req_sim_/);

    const huge = await post(JSON.stringify({ ...ask('x'.repeat(33 * 1024 * 1024)) }), {
      'anthropic-version': '2023-06-01',
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { type: 'request_too_large' } });

    const unknown = await fetch(`${sim.url}/v1/nothing-here`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(sim.log.map((l) => l.status)).toEqual([400, 400, 413, 404]);
  });

  test('scripted tooLarge/badRequest/unauthorized/notFound are typed too', async () => {
    sim.script({ kind: 'tooLarge' }, { kind: 'badRequest' }, { kind: 'unauthorized' }, { kind: 'notFound' });
    expect(await rejectionOf(client.messages.create(ask('a')))).toBeInstanceOf(ContentTooLargeError);
    expect(await rejectionOf(client.messages.create(ask('b')))).toBeInstanceOf(BadRequestError);
    expect(await rejectionOf(client.messages.create(ask('c')))).toBeInstanceOf(AuthenticationError);
    expect(await rejectionOf(client.messages.create(ask('d')))).toBeInstanceOf(NotFoundError);
    expect(sim.log.map((l) => [l.outcome, l.fault])).toEqual([
      ['fault', 'tooLarge'],
      ['fault', 'badRequest'],
      ['fault', 'unauthorized'],
      ['fault', 'notFound'],
    ]);
  });

  test('reset → APIConnectionError', async () => {
    sim.script({ kind: 'reset' });
    const err = await rejectionOf(client.messages.create(ask('hi')));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(lastLog()).toMatchObject({ status: 0, outcome: 'fault', fault: 'reset' });
    // The simulator keeps serving after a reset.
    await expect(client.messages.create(ask('hi'))).resolves.toMatchObject({ type: 'message' });
  });

  test('streamError → plain APIError without status, after some text', async () => {
    sim.script({ kind: 'streamError' });
    const stream = client.messages.stream(ask('Tell me a long enough story to need several deltas'));
    const deltas: string[] = [];
    stream.on('text', (d) => deltas.push(d));
    const err = await rejectionOf(stream.finalMessage());
    expect(err).toBeInstanceOf(APIError);
    expect(err).not.toBeInstanceOf(APIConnectionError);
    const e = err as APIError;
    expect(e.status).toBeUndefined();
    expect(e.type).toBe('overloaded_error');
    expect(e.apiMessage).toBe('Overloaded');
    expect(deltas).toHaveLength(2);
    expect(lastLog()).toMatchObject({ stream: true, status: 200, outcome: 'fault', fault: 'streamError' });
  });

  test('stream-only scripted faults skip non-stream requests; match filters apply', async () => {
    sim.script(
      { kind: 'streamError' },
      { kind: 'server', match: { textIncludes: 'poison' } },
      { kind: 'overloaded', match: { model: 'claude-sonnet-4-6' }, times: 2 },
    );
    await expect(client.messages.create(ask('harmless'))).resolves.toMatchObject({ type: 'message' });
    expect(await rejectionOf(client.messages.create(ask('a poison pill')))).toBeInstanceOf(InternalServerError);
    await expect(client.messages.create(ask('harmless again'))).resolves.toMatchObject({ type: 'message' });
    for (let i = 0; i < 2; i++) {
      const err = await rejectionOf(client.messages.create(ask('x', { model: 'claude-sonnet-4-6' })));
      expect((err as APIError).status).toBe(529);
    }
    await expect(client.messages.create(ask('x', { model: 'claude-sonnet-4-6' }))).resolves.toMatchObject({
      type: 'message',
    });
    // The streamError entry is still queued for the next stream.
    await expect(client.messages.stream(ask('now a stream')).finalMessage()).rejects.toBeInstanceOf(APIError);
  });
});

describe('random faults', () => {
  async function outcomes(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      try {
        await client.messages.create(ask(`request ${i}`));
        out.push('ok');
      } catch (err) {
        out.push(err instanceof APIError && err.status !== undefined ? String(err.status) : 'conn');
      }
    }
    return out;
  }

  test('the same seed reproduces the same fault sequence', async () => {
    const faults = { rateLimit: 0.2, overloaded: 0.2, server: 0.2, reset: 0.1 };
    sim.configure({ seed: 42, faults });
    const first = await outcomes(30);
    sim.configure({ seed: 42 });
    const second = await outcomes(30);
    sim.configure({ seed: 43 });
    const third = await outcomes(30);

    expect(second).toEqual(first);
    expect(third).not.toEqual(first);
    expect(new Set(first)).toEqual(new Set(['ok', '429', '529', '500', 'conn']));
    const faultsLogged = sim.log.slice(0, 30).map((l) => l.fault ?? 'ok');
    expect(
      faultsLogged.map((f) => ({ ok: 'ok', rateLimit: '429', overloaded: '529', server: '500', reset: 'conn' })[f]),
    ).toEqual(first);
  });

  test('onlyModels limits random faults to the named models', async () => {
    sim.configure({ faults: { server: 1, onlyModels: ['claude-sonnet-4-6'] } });
    await expect(client.messages.create(ask('fine'))).resolves.toMatchObject({ type: 'message' });
    expect(await rejectionOf(client.messages.create(ask('x', { model: 'claude-sonnet-4-6' })))).toBeInstanceOf(
      InternalServerError,
    );
  });
});

describe('control endpoints', () => {
  const control = (path: string, init?: RequestInit): Promise<Response> => fetch(`${sim.url}/_sim/${path}`, init);
  const postJson = (path: string, body: unknown): Promise<Response> =>
    control(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test('health, script, config, log and clearing work over HTTP and are not logged', async () => {
    const health = await control('health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, models: expect.arrayContaining([MODEL]) });

    const scripted = await postJson('script', [{ kind: 'server', times: 2 }]);
    expect(scripted.status).toBe(200);
    expect(await rejectionOf(client.messages.create(ask('1')))).toBeInstanceOf(InternalServerError);
    expect(await rejectionOf(client.messages.create(ask('2')))).toBeInstanceOf(InternalServerError);
    await expect(client.messages.create(ask('3'))).resolves.toMatchObject({ type: 'message' });

    expect((await postJson('config', { faults: { rateLimit: 1, retryAfterSeconds: 3 } })).status).toBe(200);
    const limited = await rejectionOf(client.messages.create(ask('4')));
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers.get('retry-after')).toBe('3');
    expect((await postJson('config', { faults: {} })).status).toBe(200);

    const log = (await (await control('log')).json()) as RequestLogEntry[];
    expect(log).toEqual(JSON.parse(JSON.stringify(sim.log)));
    expect(log.map((l) => l.fault)).toEqual(['server', 'server', null, 'rateLimit']);
    expect(log.every((l) => l.path.startsWith('/v1/'))).toBe(true);

    const cleared = await control('log', { method: 'DELETE' });
    expect(await cleared.json()).toMatchObject({ ok: true, cleared: 4 });
    expect(sim.log).toHaveLength(0);
  });

  test('bad control input is rejected with 400, unknown endpoints with 404', async () => {
    expect((await postJson('config', { faults: { rateLimit: 2 } })).status).toBe(400);
    expect((await postJson('config', { latencyMS: 5 })).status).toBe(400);
    expect((await postJson('script', [{ kind: 'meteor' }])).status).toBe(400);
    expect((await control('config', { method: 'POST', body: '{' })).status).toBe(400);
    expect((await control('nope')).status).toBe(404);
    expect(sim.log).toHaveLength(0);
  });
});

describe('stalls, latency and close()', () => {
  test('a stalled stream can be aborted, and close() ends the ones still hanging', async () => {
    const local = await startSimulator({ seed: 5 });
    const localClient = newClient(local);
    local.script({ kind: 'stall', times: 2 });

    const started = (stream: ReturnType<typeof localClient.messages.stream>): Promise<void> =>
      new Promise((resolve) =>
        stream.on('streamEvent', (event: MessageStreamEvent) => {
          if (event.type === 'message_start') resolve();
        }),
      );

    const ac = new AbortController();
    const aborted = localClient.messages.stream(ask('stall one'), { signal: ac.signal });
    const abortedResult = rejectionOf(aborted.finalMessage());
    await started(aborted);
    ac.abort();
    expect(await abortedResult).toBeInstanceOf(APIUserAbortError);

    const hanging = localClient.messages.stream(ask('stall two'));
    const hangingResult = rejectionOf(hanging.finalMessage());
    await started(hanging);
    expect(local.log.map((l) => [l.status, l.outcome, l.fault])).toEqual([
      [200, 'fault', 'stall'],
      [200, 'fault', 'stall'],
    ]);

    await local.close();
    const err = await hangingResult;
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(APIUserAbortError);
  });

  test('a client that leaves during the latency wait gets no answer and is logged as aborted', async () => {
    const local = await startSimulator({ latencyMs: { [MODEL]: 600_000, '*': 0 } });
    const localClient = newClient(local);
    const ac = new AbortController();
    const pending = rejectionOf(localClient.messages.create(ask('slow'), { signal: ac.signal }));
    // Not a sleep: each probe is an HTTP round trip, and the loop ends once the request has arrived.
    for (;;) {
      const health = (await (await fetch(`${local.url}/_sim/health`)).json()) as { requests: number };
      if (health.requests >= 1) break;
    }
    ac.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await local.close();
    expect(local.log).toHaveLength(1);
    expect(local.log[0]).toMatchObject({ status: 0, outcome: 'fault', fault: 'aborted', responseText: null });
  });

  test('latency per model with a * fallback delays but still answers', async () => {
    sim.configure({ latencyMs: { 'claude-opus-4-6': 5, '*': 1 } });
    await expect(client.messages.create(ask('slow-ish', { model: 'claude-opus-4-6' }))).resolves.toMatchObject({
      type: 'message',
    });
  });
});

describe('attribution', () => {
  const renga = (workflowId: string, attempt = 1) => ({
    headers: {
      'x-renga-workflow-id': workflowId,
      'x-renga-activity-id': 'subtask-s1',
      'x-renga-activity-type': 'runSubtask',
      'x-renga-attempt': String(attempt),
    },
  });

  test('log entries carry the workflow, activity and attempt a call names; unnamed calls carry nulls', async () => {
    await client.messages.create(ask('mine'), renga('job-a', 2));
    await client.messages.create(ask('anonymous'));
    expect(sim.log.map((e) => [e.workflowId, e.activityId, e.activityType, e.attempt])).toEqual([
      ['job-a', 'subtask-s1', 'runSubtask', 2],
      [null, null, null, null],
    ]);
  });

  test('a scripted fault aimed at one workflow leaves every other workflow alone', async () => {
    sim.script({ kind: 'server', match: { workflowId: 'job-b' } });
    await client.messages.create(ask('other job'), renga('job-c'));
    await expect(client.messages.create(ask('target'), renga('job-b'))).rejects.toMatchObject({ status: 500 });
    expect(sim.log.map((e) => [e.workflowId, e.fault])).toEqual([
      ['job-c', null],
      ['job-b', 'server'],
    ]);
  });

  test('in-flight calls are listed with their workflow until their log entry is final, aborted ones included', async () => {
    const local = await startSimulator({ latencyMs: 600_000 });
    const ac = new AbortController();
    const pending = rejectionOf(
      newClient(local).messages.create(ask('slow'), { signal: ac.signal, ...renga('job-d') }),
    );
    await waitUntil(() => local.inFlight().length === 1, 'the call has arrived');
    expect(local.inFlight()).toEqual([
      { workflowId: 'job-d', activityId: 'subtask-s1', activityType: 'runSubtask', attempt: 1 },
    ]);
    expect(local.log).toHaveLength(0);
    ac.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await waitUntil(() => local.inFlight().length === 0, 'the aborted call has settled');
    expect(local.log.map((e) => [e.workflowId, e.fault])).toEqual([['job-d', 'aborted']]);
    const overHttp = (await (await fetch(`${local.url}/_sim/inflight`)).json()) as unknown[];
    expect(overHttp).toEqual([]);
    await local.close();
  });
});
