/** Pure logic: schemas, error classification, cost math, CLI input building. No servers needed. */
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { TRACE_HEADER as LIBRARY_TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { medianInterval } from '../bench/stats';
import { classifyError, ModelOutputError, StreamStalledError } from '../activities/errors';
import { checkJobInput } from '../activities/input-check';
import { SharedContextCache } from '../activities/shared-context-cache';
import { readMessageStream, StreamEndedEarlyError } from '../activities/stream-reader';
import { InvalidJobInputError } from '../client/api';
import { buildJobInput } from '../client/input';
import { ConfigError, loadWorkerConfig } from '../shared/config';
import { isFatalForJob } from '../shared/failures';
import { costUsd, priceFor } from '../shared/pricing';
import { JobInputSchema, ResultDocumentSchema, describeZodError } from '../shared/schemas';
import { formatIdentity, isProvablyGone, parseIdentity, thisWorker } from '../worker/identity';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../worker/telemetry';
import { bundleRengaWorkflows } from '../worker/workflow-bundle';
import { TRACE_HEADER } from '../workflows/tracing-interceptors';

function apiError(status: number | undefined, headers: Record<string, string> = {}, type = 'api_error') {
  const body = { type: 'error', error: { type, message: `simulated ${status}` } };
  // A mid-stream SSE error is built like this by the SDK's stream reader: no status at all.
  if (status === undefined) return new Anthropic.APIError(undefined, body, undefined, new Headers(headers));
  return Anthropic.APIError.generate(status, body, `simulated ${status}`, new Headers(headers));
}

describe('job input schema', () => {
  test('applies defaults', () => {
    const input = JobInputSchema.parse({ job: 'summarise' });
    expect(input).toMatchObject({ job: 'summarise', maxSubtasks: 8, concurrency: 8, context: [], maxAttempts: 8 });
  });
  test.each([
    [{ job: '   ' }, 'job: the job text is empty'],
    [{ job: 'x', maxSubtasks: 0 }, 'maxSubtasks'],
    [{ job: 'x', concurrency: 1.5 }, 'concurrency'],
    [{ job: 'x', bogus: true }, 'bogus'],
    [{ job: 'x', workerModel: 'has spaces' }, 'workerModel'],
  ])('rejects %j naming the field', (raw, field) => {
    const r = JobInputSchema.safeParse(raw);
    expect(r.success).toBe(false);
    if (!r.success) expect(describeZodError(r.error)).toContain(field);
  });
  test('rejects context larger than the limit', () => {
    const r = JobInputSchema.safeParse({ job: 'x', context: [{ name: 'big', content: 'a'.repeat(1_000_001) }] });
    expect(r.success).toBe(false);
    if (!r.success) expect(describeZodError(r.error)).toMatch(/^context: context files total 1000001 characters/);
  });
  test("the job's input check answers with what it changed, which on the given input is the parsed input", () => {
    const raw = { job: '  summarise  ', context: [{ name: 'a.txt', content: 'x'.repeat(10_000) }], maxSubtasks: 3 };
    const check = checkJobInput(raw);
    if (!check.ok) throw new Error(check.problem);
    // Defaults and the trimmed text, not the context the start event already holds.
    expect(Object.keys(check.changed)).not.toContain('context');
    expect(check.changed).toMatchObject({ job: 'summarise', concurrency: 8 });
    expect({ ...raw, ...check.changed }).toEqual(JobInputSchema.parse(raw));
  });
  test("the job's input check names every problem", () => {
    expect(checkJobInput({ job: '', maxSubtasks: 0 })).toEqual({
      ok: false,
      problem: expect.stringMatching(/^job: the job text is empty; maxSubtasks: /),
    });
  });
  test('the docs/architecture.md example document satisfies the result schema', () => {
    const page = readFileSync(path.join(__dirname, '..', 'docs', 'architecture.md'), 'utf8');
    const block = /### Result document[^\n]*\n+```json\n([\s\S]*?)\n```/.exec(page)?.[1];
    expect(block).toBeDefined();
    const doc: unknown = JSON.parse(block!);
    expect(ResultDocumentSchema.parse(doc)).toEqual(doc);
  });
});

describe('error classification', () => {
  test.each([
    [400, 'InvalidRequest'],
    [401, 'AuthenticationFailed'],
    [403, 'PermissionDenied'],
    [404, 'ModelNotFound'],
    [413, 'RequestTooLarge'],
  ])('HTTP %i is not retryable, type %s', (status, type) => {
    const f = classifyError(apiError(status), 1, { model: 'claude-x' });
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(true);
    // Only a 413 (the body's size, shared by every call) says by itself that it is request-wide.
    expect(f.details?.[0]).toEqual({ attempt: 1, status, requestId: null, requestWide: status === 413 });
  });
  test.each([
    ['prompt is too long: 215000 tokens > 200000 maximum', true],
    ['input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000', true],
    ['max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens', true],
    ['messages.0.content.0.text: text content blocks must be non-empty', false],
    ['messages: simulated invalid request (injected fault)', false],
  ])('a 400 saying %j is request-wide (stops the fan-out): %s', (message, wide) => {
    const body = { type: 'error', error: { type: 'invalid_request_error', message } };
    const f = classifyError(Anthropic.APIError.generate(400, body, message, new Headers()), 1);
    expect(f.type).toBe('InvalidRequest');
    expect(isFatalForJob(f)).toBe(wide);
  });
  test('404 names the unknown model', () => {
    expect(classifyError(apiError(404), 1, { model: 'claude-nope' }).message).toContain("unknown model 'claude-nope'");
  });
  test.each([
    [429, 'RateLimited'],
    [529, 'Overloaded'],
    [500, 'ServerError'],
    [503, 'ServerError'],
  ])('HTTP %i is retryable, type %s', (status, type) => {
    const f = classifyError(apiError(status), 3);
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(false);
  });
  test('429 honours retry-after through the next retry delay', () => {
    expect(classifyError(apiError(429, { 'retry-after': '7' }), 1).nextRetryDelay).toBe(7000);
    expect(classifyError(apiError(429, { 'retry-after-ms': '1500' }), 1).nextRetryDelay).toBe(1500);
    expect(classifyError(apiError(429), 1).nextRetryDelay).toBeUndefined();
  });
  test('an SSE error after HTTP 200 (no status) is retryable', () => {
    const f = classifyError(apiError(undefined, {}, 'overloaded_error'), 2);
    expect(f.type).toBe('StreamError');
    expect(f.nonRetryable).toBe(false);
  });
  test('connection errors, stalls and invalid model output are retryable', () => {
    expect(classifyError(new Anthropic.APIConnectionError({ message: 'reset' }), 1).type).toBe('ConnectionError');
    expect(classifyError(new Anthropic.APIConnectionTimeoutError(), 1).type).toBe('ConnectionError');
    expect(classifyError(new StreamStalledError(5000), 1).type).toBe('StreamStalled');
    const bad = classifyError(new ModelOutputError('bad plan'), 1);
    expect([bad.type, bad.nonRetryable]).toEqual(['InvalidModelOutput', false]);
  });
});

describe("a worker's cache of shared job contexts", () => {
  /** A blob store's read, counted, answering from `texts` (null: not in the store). */
  const store = (texts: Record<string, string>) => {
    const reads: string[] = [];
    return { reads, load: (key: string) => () => (reads.push(key), Promise.resolve(texts[key] ?? null)) };
  };

  it('reads a context once for all the calls of a job, including calls that arrive while it is read', async () => {
    const cache = new SharedContextCache(100);
    const s = store({ a: 'alpha' });
    const first = await Promise.all([1, 2, 3].map(() => cache.get('a', 5, s.load('a'))));
    expect(first).toEqual(['alpha', 'alpha', 'alpha']);
    expect(await cache.get('a', 5, s.load('a'))).toBe('alpha');
    expect(s.reads).toEqual(['a']);
  });

  it('drops the least recently used context past its size, and never keeps a miss or a failed read', async () => {
    const cache = new SharedContextCache(10);
    const s = store({ a: 'aaaa', b: 'bbbb', c: 'cccc' });
    await cache.get('a', 4, s.load('a'));
    await cache.get('b', 4, s.load('b'));
    await cache.get('a', 4, s.load('a')); // a is now the more recent
    await cache.get('c', 4, s.load('c')); // 12 > 10: b goes
    await cache.get('a', 4, s.load('a'));
    await cache.get('b', 4, s.load('b'));
    expect(s.reads).toEqual(['a', 'b', 'c', 'b']);
    expect(await cache.get('gone', 4, s.load('gone'))).toBeNull();
    await expect(cache.get('bad', 4, () => Promise.reject(new Error('disk')))).rejects.toThrow('disk');
    expect(await cache.get('gone', 4, s.load('gone'))).toBeNull();
    expect(s.reads.filter((k) => k === 'gone')).toHaveLength(2);
    expect(cache.size).toBe(2);
  });

  it('a read that ends after its entry was evicted and read again leaves the newer entry alone', async () => {
    const cache = new SharedContextCache(6);
    let failSlow!: (err: Error) => void;
    const slow = cache.get('a', 4, () => new Promise<string | null>((_, reject) => (failSlow = reject)));
    await cache.get('b', 4, () => Promise.resolve('bbbb'));
    await cache.get('c', 4, () => Promise.resolve('cccc')); // 8 > 6: the pending 'a' and then 'b' are dropped
    const s = store({ a: 'aaaa' });
    expect(await cache.get('a', 4, s.load('a'))).toBe('aaaa'); // a fresh read of 'a', kept
    failSlow(new Error('disk'));
    await expect(slow).rejects.toThrow('disk');
    expect(await cache.get('a', 4, s.load('a'))).toBe('aaaa');
    expect(s.reads).toEqual(['a']);
  });
});

describe("the benchmark's interval for a median", () => {
  const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  it('takes the order statistics of the sign test (the textbook ranks for 9, 21 and 25 samples)', () => {
    expect(medianInterval(ranks(9))).toMatchObject({ lo: 2, hi: 8 });
    expect(medianInterval(ranks(21))).toMatchObject({ lo: 6, hi: 16 });
    expect(medianInterval(ranks(25))).toMatchObject({ lo: 8, hi: 18 });
    expect(medianInterval(ranks(25)).coverage).toBeCloseTo(0.9567, 4);
  });
  it('gives the whole range, with its lower coverage, when too few samples reach 95 %', () => {
    expect(medianInterval([3, 1, 2, 5, 4])).toEqual({ lo: 1, hi: 5, coverage: 1 - 2 / 32 });
  });
});

describe('cost math', () => {
  test('Haiku 4.5 and Sonnet 4.x list prices', () => {
    const u = { inputTokens: 1_000_000, outputTokens: 1_000_000, cacheReadTokens: 0, cacheWriteTokens: 0 };
    expect(costUsd('claude-haiku-4-5', u)).toBe(6);
    expect(costUsd('claude-haiku-4-5-20251001', u)).toBe(6);
    expect(costUsd('claude-sonnet-4-6', u)).toBe(18);
  });
  test('cache writes cost 1.25×, reads 0.1×, batches half', () => {
    const u = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 1_000_000, cacheWriteTokens: 1_000_000 };
    expect(costUsd('claude-sonnet-4-6', u)).toBeCloseTo(3 * 1.25 + 3 * 0.1, 6);
    const v = { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    expect(costUsd('claude-haiku-4-5', v, { batch: true })).toBe(0.5);
  });
  test('an unpriced model costs 0 rather than failing', () => {
    expect(priceFor('some-future-model')).toBeNull();
    expect(
      costUsd('some-future-model', { inputTokens: 5, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0 }),
    ).toBe(0);
  });
});

describe('configuration', () => {
  test('defaults', () => {
    const c = loadWorkerConfig({});
    expect(c).toMatchObject({
      TEMPORAL_ADDRESS: 'localhost:7233',
      RENGA_TASK_QUEUE: 'renga',
      RENGA_WORKER_MODEL: 'claude-haiku-4-5',
    });
    expect(c.RENGA_PLANNER_MODEL).toBe('claude-sonnet-4-6');
  });
  test('a bad value fails fast naming the variable', () => {
    expect(() => loadWorkerConfig({ TEMPORAL_ADDRESS: 'nope' })).toThrow(ConfigError);
    expect(() => loadWorkerConfig({ TEMPORAL_ADDRESS: 'nope' })).toThrow(/TEMPORAL_ADDRESS/);
    expect(() => loadWorkerConfig({ RENGA_STREAM_IDLE_SECONDS: '-1' })).toThrow(/RENGA_STREAM_IDLE_SECONDS/);
    expect(() => loadWorkerConfig({ RENGA_WORKER_HEAP: 'small' })).toThrow(/RENGA_WORKER_HEAP/);
  });
  test("workers' heaps are lean unless RENGA_WORKER_HEAP=v8", () => {
    expect(loadWorkerConfig({}).RENGA_WORKER_HEAP).toBe('lean');
    expect(loadWorkerConfig({ RENGA_WORKER_HEAP: 'v8' }).RENGA_WORKER_HEAP).toBe('v8');
  });
});

describe('CLI job input', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'renga-unit-'));
  const file = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  test('reads job text, context files and flags', () => {
    const ctx = file('notes.md', '# notes');
    const input = buildJobInput('do it', { context: [ctx], maxSubtasks: 3 });
    expect(input).toMatchObject({ job: 'do it', maxSubtasks: 3, context: [{ name: 'notes.md', content: '# notes' }] });
  });
  test('a .json file holds a whole job input', () => {
    const f = file('job.json', JSON.stringify({ job: 'from json', concurrency: 2 }));
    expect(buildJobInput(undefined, { file: f })).toMatchObject({ job: 'from json', concurrency: 2 });
  });
  test.each([
    [
      'missing file',
      () => buildJobInput(undefined, { file: path.join(dir, 'nope.txt') }),
      /--file .*nope.txt: no such file/,
    ],
    ['malformed JSON', () => buildJobInput(undefined, { file: file('bad.json', '{"job": ') }), /malformed JSON/],
    ['binary context', () => buildJobInput('x', { context: [file('b.bin', Buffer.from([1, 0, 2]))] }), /binary file/],
    [
      'invalid UTF-8',
      () => buildJobInput('x', { context: [file('l.txt', Buffer.from([0xff, 0xfe, 0x41]))] }),
      /not valid UTF-8/,
    ],
    [
      'JSON with a bad field',
      () => buildJobInput(undefined, { file: file('f.json', '{"job":"x","maxSubtasks":-1}') }),
      /maxSubtasks/,
    ],
    ['no job at all', () => buildJobInput(undefined, {}), /no job given/],
  ])('%s is a precise InvalidJobInputError', (_name, fn, message) => {
    expect(fn).toThrow(InvalidJobInputError);
    expect(fn).toThrow(message);
  });
});

test('the workflow tracing interceptors look for the header the OpenTelemetry client interceptor writes', () => {
  // workflows/tracing-interceptors.ts keeps its own copy so untraced runs never load OpenTelemetry.
  expect(TRACE_HEADER).toBe(LIBRARY_TRACE_HEADER);
});

/** Files each bundled file imports at the top (`import-statement`) and requires lazily (`require-call`). */
async function workflowImportGraph(): Promise<Map<string, { path: string; kind: string }[]>> {
  const root = path.join(__dirname, '..');
  const entries = [
    require.resolve('../workflows'),
    ...WORKFLOW_INTERCEPTOR_MODULES,
    require.resolve('../shared/failure-converter'),
  ];
  const { metafile } = await build({
    entryPoints: entries,
    bundle: true,
    write: false,
    metafile: true,
    outdir: os.tmpdir(),
    platform: 'node',
    absWorkingDir: root,
    logLevel: 'silent',
  });
  const graph = new Map<string, { path: string; kind: string }[]>();
  for (const [file, input] of Object.entries(metafile.inputs)) graph.set(file, input.imports);
  return graph;
}

test('workflow runs that parse nothing evaluate no zod and no OpenTelemetry (each run evaluates its imports afresh)', async () => {
  const graph = await workflowImportGraph();
  const roots = ['workflows/index.ts', 'workflows/payload-interceptors.ts', 'workflows/tracing-interceptors.ts'];
  const eager = new Set<string>();
  const lazy = new Set<string>();
  const visit = (file: string): void => {
    if (eager.has(file)) return;
    eager.add(file);
    for (const i of graph.get(file) ?? []) {
      if (i.kind === 'import-statement') visit(i.path);
      else if (i.kind === 'require-call') lazy.add(i.path);
    }
  };
  for (const r of roots) visit(r);
  const heavy = [...eager].filter((f) => /node_modules\/(zod|@opentelemetry)\/|shared\/(schemas|batch)\.ts/.test(f));
  expect(heavy).toEqual([]);
  // Still in the bundle, for the runs that need them: required on first use.
  expect([...lazy]).toEqual(expect.arrayContaining(['shared/schemas.ts', 'shared/batch.ts']));
  expect(eager.has('workflows/job.ts')).toBe(true);
});

/** What `script` prints, run from the repository in a fresh Node process (with tsx); rejects on a non-zero exit. */
function stdoutOfFreshProcess(script: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.join(__dirname, '..') });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}: ${stderr}`))));
  });
}

test('a worker that traces nothing, keeps objects on disk and has no MCP servers loads none of those SDKs', async () => {
  // A fresh process, as `renga worker` and the CLI start: those SDKs are required only when configured.
  const script =
    "require('./worker/main'); require('./client/cli'); process.stdout.write(JSON.stringify(Object.keys(require.cache)));";
  const out = await stdoutOfFreshProcess(script);
  const loaded = JSON.parse(out) as string[];
  expect(loaded.some((f) => /worker[\\/]worker\.ts$/.test(f))).toBe(true);
  const optional =
    /node_modules[\\/](@opentelemetry[\\/](sdk-node|sdk-trace-base|exporter-)|@temporalio[\\/]interceptors-opentelemetry|@aws-sdk|@modelcontextprotocol)[\\/]/;
  expect(loaded.filter((f) => optional.test(f))).toEqual([]);
});

test("the lean heap caps a workflow thread's semi-spaces at 8 MiB; 'v8' gives V8 its own sizing back", async () => {
  // A fresh process, since V8 flags are process-wide: the heap limit of a thread started after each
  // setting (a workflow thread is one) counts three semi-spaces on top of the old generation's limit.
  const script = `
    const { Worker } = require('node:worker_threads');
    const { applyWorkerHeap } = require('./worker/heap');
    const limit = () => new Promise((resolve) => new Worker(
      "require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapStatistics().heap_size_limit)",
      { eval: true },
    ).once('message', resolve));
    (async () => {
      const before = await limit();
      applyWorkerHeap('lean');
      const lean = await limit();
      applyWorkerHeap('v8');
      const v8 = await limit();
      process.stdout.write(JSON.stringify({ before, lean, v8 }));
    })();`;
  const out = await stdoutOfFreshProcess(script);
  const { before, lean, v8 } = JSON.parse(out) as { before: number; lean: number; v8: number };
  // V8's own ceiling is 16 MiB a semi-space on a 64-bit machine with 16 GiB or more (less on smaller ones).
  if (os.totalmem() >= 16 * 2 ** 30) expect(before - lean).toBe(3 * 8 * 2 ** 20);
  else expect(lean).toBeLessThanOrEqual(before);
  expect(v8).toBe(before);
});

test("the workflow bundle maps positions without the sources' text, and carries only zod's English messages", async () => {
  const { code } = await bundleRengaWorkflows({
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const map = JSON.parse(Buffer.from(code.slice(code.lastIndexOf('base64,') + 7), 'base64').toString()) as {
    mappings: string;
    sources: string[];
    sourcesContent?: unknown;
  };
  expect(map.sourcesContent).toBeUndefined();
  expect(map.mappings.length).toBeGreaterThan(0);
  expect(map.sources.some((s) => /workflows[\\/]job\.ts$/.test(s))).toBe(true);
  // zod's English messages, which it imports itself; none of its other locales.
  expect(code).toMatch(/zod\/v4\/locales\/en\.c?js/);
  expect(code).not.toMatch(/zod\/v4\/locales\/fr\.c?js/);
});

describe('worker identity: which dead workers a starting one can prove gone', () => {
  const self = thisWorker();
  const exitedPid = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.on('error', reject);
      // 'exit' comes after Node has reaped the child: its PID names no process now.
      child.on('exit', () => resolve(child.pid!));
    });

  test('round-trips pid@host and the PID namespace; other formats are not renga workers', () => {
    expect(parseIdentity(formatIdentity(self))).toEqual(self);
    expect(parseIdentity(`${process.pid}@${self.host}`)).toBeNull();
  });
  test("a process that has ended on this host and namespace is gone, and so is an earlier process that had this one's PID", async () => {
    expect(isProvablyGone(formatIdentity({ ...self, pid: await exitedPid() }), self)).toBe(true);
    expect(isProvablyGone(formatIdentity({ ...self, started: self.started - 60_000 }), self)).toBe(true);
  });
  test('a running process, another worker of this process, another host, another namespace or a foreign identity is not', async () => {
    const pid = await exitedPid();
    expect(isProvablyGone(formatIdentity(self), self)).toBe(false);
    expect(isProvablyGone(formatIdentity({ ...self, pid: process.ppid }), self)).toBe(false);
    expect(isProvablyGone(formatIdentity({ ...self, pid, host: `${self.host}-other` }), self)).toBe(false);
    expect(isProvablyGone(formatIdentity({ ...self, pid, pidNamespace: '1' }), self)).toBe(false);
    expect(isProvablyGone(`${pid}@${self.host}`, self)).toBe(false);
  });
});

describe('reading a streamed answer a chunk at a time', () => {
  const events = [
    {
      type: 'message_start',
      message: {
        id: 'm1',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 1 },
      },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
    { type: 'ping' },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello, ' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'wörld' } },
    { type: 'content_block_stop', index: 0 },
    {
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 't1', name: 'word_count', input: {} },
    },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"text": "a b' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: ' c"}' } },
    { type: 'content_block_stop', index: 1 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 9, cache_read_input_tokens: 4 },
    },
    { type: 'message_stop' },
  ];
  const sse = (eol: string) =>
    events.map((e) => `event: ${e.type}${eol}data: ${JSON.stringify(e)}${eol}${eol}`).join('');
  /** The body cut into pieces of `size` bytes: events, lines and a multi-byte character split across chunks. */
  const response = (text: string, size: number) => {
    const bytes = new TextEncoder().encode(text);
    return new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
          c.close();
        },
      }),
    );
  };

  test.each([
    ['LF, one chunk', '\n', 1_000_000],
    ['LF, 7-byte chunks', '\n', 7],
    ['CRLF, 5-byte chunks', '\r\n', 5],
  ])('%s: text, tool input, stop reason and usage as the SDK assembles them', async (_name, eol, size) => {
    let chunks = 0;
    const m = await readMessageStream(response(sse(eol), size), () => chunks++);
    expect(m.content).toEqual([
      { type: 'text', text: 'Hello, wörld', citations: null },
      { type: 'tool_use', id: 't1', name: 'word_count', input: { text: 'a b c' } },
    ]);
    expect(m.stop_reason).toBe('tool_use');
    expect(m.usage).toMatchObject({ input_tokens: 12, output_tokens: 9, cache_read_input_tokens: 4 });
    expect(chunks).toBe(Math.ceil(new TextEncoder().encode(sse(eol)).length / size));
  });
  test('an error event is the SDK APIError without a status, which renga retries', async () => {
    const body = `${sse('\n').split('event: content_block_stop')[0]}event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`;
    const err = await readMessageStream(response(body, 64), () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBeUndefined();
    expect(classifyError(err, 1).nonRetryable).toBe(false);
  });
  test('a connection that breaks off mid-answer is a connection error, which renga retries', async () => {
    const bytes = new TextEncoder().encode(sse('\n').slice(0, 300));
    const broken = new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes);
          c.error(new TypeError('terminated'));
        },
      }),
    );
    const err = await readMessageStream(broken, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(classifyError(err, 1).type).toBe('ConnectionError');
  });
  test('a stream that ends before message_stop is an error, not a short answer', async () => {
    const cut = sse('\n').split('event: message_delta')[0]!;
    await expect(readMessageStream(response(cut, 64), () => undefined)).rejects.toBeInstanceOf(StreamEndedEarlyError);
  });
});
