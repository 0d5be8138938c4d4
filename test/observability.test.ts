/**
 * A job seen from the outside, with real backends: `renga run` and a worker process export OTLP to
 * a real Jaeger (read back through its query API), a real Prometheus scrapes the worker's metrics
 * endpoint (read back through its query API), and the worker's JSON log lines are parsed — all three
 * must agree with the job's result document.
 */
import { randomBytes } from 'node:crypto';
import { ResultDocumentSchema, type ResultDocument } from '../shared/schemas';
import { freePort } from '../temporal/dev-server';
import { dashboardPanels, metricNames } from './helpers/dashboard';
import {
  findTraces,
  getTrace,
  startJaeger,
  tag,
  type Jaeger,
  type JaegerSpan,
  type JaegerTrace,
} from './helpers/jaeger';
import { startPrometheus, type Prometheus } from './helpers/prometheus';
import { callsOf } from './helpers/calls';
import { runCli, useStack, waitUntil, type ChildWorker } from './helpers/stack';

const stack = useStack({}, { worker: false });
let jaeger: Jaeger | undefined;
let prometheus: Prometheus | undefined;
let worker: ChildWorker;
let doc: ResultDocument;
const CLI_SERVICE = 'renga-cli-test';
const WORKER_SERVICE = 'renga-worker-test';
/** In the SDK's list of deprecated models, and known to the simulator. */
const DEPRECATED_MODEL = 'claude-sonnet-4-5';

beforeAll(async () => {
  jaeger = await startJaeger();
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  prometheus = await startPrometheus([metricsAddress]);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: '200' };
  worker = await stack.spawnWorker({
    ...otel,
    OTEL_SERVICE_NAME: WORKER_SERVICE,
    RENGA_METRICS_ADDRESS: metricsAddress,
    RENGA_LOG_FORMAT: 'json',
  });
  // The planner model is one the SDK warns about (deprecated): that warning must reach the JSON log.
  const args = [
    'run',
    '--json',
    '--max-subtasks',
    '3',
    '--planner-model',
    DEPRECATED_MODEL,
    'Describe three kinds of clouds',
  ];
  const run = await runCli(stack, args, {
    ...otel,
    OTEL_SERVICE_NAME: CLI_SERVICE,
  });
  if (run.code !== 0) throw new Error(`renga run exited ${run.code}: ${run.stderr}`);
  doc = ResultDocumentSchema.parse(JSON.parse(run.stdout));
}, 300_000);

afterAll(async () => {
  await prometheus?.stop();
  await jaeger?.stop();
});

const modelCalls = () => doc.subtasks.length + 2; // plan, one per subtask, synthesis (the simulator needs no retries)
const totals = () => {
  const models = Object.values(doc.usage.byModel);
  return {
    input: models.reduce((n, m) => n + m.inputTokens, 0),
    output: models.reduce((n, m) => n + m.outputTokens, 0),
  };
};

test('the job is one trace in Jaeger: CLI start → workflow → activities → GenAI model-call spans', async () => {
  expect(doc.status).toBe('completed');
  const j = jaeger!;
  // Spans arrive in batches from two processes (a parent after its children): wait until every model
  // call's span is there and every span's parent is too.
  const trace = await waitUntil(async () => {
    const found = await findTraces(j, CLI_SERVICE, 'temporalWorkflowId', doc.workflowId);
    if (found.length !== 1) return undefined;
    const t = await getTrace(j, found[0]!.traceID);
    if (!t || t.spans.filter((s) => s.operationName.startsWith('chat ')).length < modelCalls()) return undefined;
    const ids = new Set(t.spans.map((s) => s.spanID));
    return t.spans.every((s) => s.references.every((r) => ids.has(r.spanID))) ? t : undefined;
  }, 'the trace holds every model call and every parent span');

  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const parent = (s: JaegerSpan) => byId.get(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
  const service = (s: JaegerSpan) => trace.processes[s.processID]?.serviceName;
  const named = (name: string) => trace.spans.filter((s) => s.operationName === name);

  const roots = trace.spans.filter((s) => !parent(s));
  expect(roots.map((s) => [s.operationName, service(s)])).toEqual([['StartWorkflow:jobWorkflow', CLI_SERVICE]]);
  const [run] = named('RunWorkflow:jobWorkflow');
  expect(run && parent(run)).toBe(roots[0]);
  expect(service(run!)).toBe(WORKER_SERVICE);

  for (const activity of ['planJob', 'runSubtask', 'synthesize']) {
    const runs = named(`RunActivity:${activity}`);
    expect(runs.length).toBe(activity === 'runSubtask' ? doc.subtasks.length : 1);
    for (const r of runs) {
      expect(parent(r)?.operationName).toBe(`StartActivity:${activity}`);
      expect(parent(parent(r)!)).toBe(run);
    }
  }

  const chats = trace.spans.filter((s) => s.operationName.startsWith('chat '));
  expect(chats.length).toBe(modelCalls());
  // Exactly one GenAI span per call: the Anthropic SDK's own spans are switched off.
  expect(trace.spans.filter((s) => tag(s, 'gen_ai.operation.name') !== undefined)).toHaveLength(modelCalls());
  for (const c of chats) {
    expect(parent(c)?.operationName).toMatch(/^RunActivity:(planJob|runSubtask|synthesize)$/);
    expect(tag(c, 'gen_ai.operation.name')).toBe('chat');
    expect(tag(c, 'gen_ai.provider.name')).toBe('anthropic');
    expect(c.operationName).toBe(`chat ${String(tag(c, 'gen_ai.request.model'))}`);
    expect(typeof tag(c, 'gen_ai.response.model')).toBe('string');
    expect(tag(c, 'gen_ai.usage.input_tokens')).toEqual(expect.any(Number));
    expect(tag(c, 'gen_ai.usage.output_tokens')).toEqual(expect.any(Number));
    expect(tag(c, 'gen_ai.usage.cache_read.input_tokens')).toEqual(expect.any(Number));
    expect(tag(c, 'gen_ai.usage.cache_creation.input_tokens')).toEqual(expect.any(Number));
    expect(String(tag(c, 'gen_ai.response.finish_reasons'))).toContain('end_turn');
    expect(tag(c, 'renga.cost_usd')).toEqual(expect.any(Number));
    // Prompt and answer text stay out of traces unless RENGA_OTEL_CAPTURE_CONTENT=true.
    expect(tag(c, 'gen_ai.input.messages')).toBeUndefined();
    expect(tag(c, 'gen_ai.output.messages')).toBeUndefined();
  }
  const subtaskIds = chats
    .filter((c) => parent(c)?.operationName === 'RunActivity:runSubtask')
    .map((c) => tag(c, 'renga.subtask_id'));
  expect(subtaskIds.sort()).toEqual(doc.subtasks.map((s) => s.id).sort());

  // The spans' tokens add up to the result document's.
  const sum = (key: string) => chats.reduce((n, c) => n + Number(tag(c, key)), 0);
  expect(sum('gen_ai.usage.input_tokens')).toBe(totals().input);
  expect(sum('gen_ai.usage.output_tokens')).toBe(totals().output);
  expect(sum('renga.cost_usd')).toBeCloseTo(doc.usage.costUsd, 6);
  expectOneTrace(trace);
});

function expectOneTrace(trace: JaegerTrace): void {
  expect(new Set(trace.spans.map((s) => s.traceID))).toEqual(new Set([trace.traceID]));
}

test('Prometheus scrapes renga counters that match the result document, beside the Temporal runtime metrics', async () => {
  const p = prometheus!;
  // Jobs are counted when they end, after all their model calls: once this is scraped, the rest is too.
  await waitUntil(
    async () => (await p.query('renga_jobs_total{status="completed"}')).some((r) => r.value >= 1),
    'Prometheus has scraped the ended job',
  );
  for (const [model, usage] of Object.entries(doc.usage.byModel)) {
    const tokens = await p.query(`sum by (kind) (renga_model_tokens_total{model="${model}"})`);
    const kind = (k: string) => tokens.find((r) => r.metric.kind === k)?.value ?? NaN;
    expect(kind('input') + kind('cache_read') + kind('cache_write')).toBe(usage.inputTokens);
    expect(kind('output')).toBe(usage.outputTokens);
    const [cost] = await p.query(`sum(renga_cost_usd_total{model="${model}"})`);
    expect(cost?.value).toBeCloseTo(usage.costUsd, 6);
  }
  const [calls] = await p.query('sum(renga_model_calls_total{outcome="ok"})');
  expect(calls?.value).toBe(modelCalls());
  const [timed] = await p.query('sum(renga_model_call_seconds_count)');
  expect(timed?.value).toBe(modelCalls());
  const [completed] = await p.query('sum(renga_subtasks_total{status="completed"})');
  expect(completed?.value).toBe(doc.subtasks.length);
  // Admission's gauges, read from the worker's books when scraped: each family's learned limits.
  for (const family of ['haiku', 'sonnet']) {
    const [limit] = await p.query(`renga_rate_limit_limit{family="${family}",dimension="requests"}`);
    const [left] = await p.query(`renga_rate_limit_remaining{family="${family}",dimension="requests"}`);
    expect(limit?.value).toBeGreaterThan(0);
    expect(left?.value).toBeGreaterThan(0);
    expect(left!.value).toBeLessThanOrEqual(limit!.value);
  }
  // The same endpoint still serves the Temporal runtime's own metrics.
  const temporal = await p.query('count({__name__=~"temporal_.+", job="renga"})');
  expect(temporal[0]?.value).toBeGreaterThan(0);
});

test('every model-call log line carries workflow id, subtask id, attempt, model, tokens and cost', async () => {
  const read = () =>
    worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'model call completed' && l.workflowId === doc.workflowId);
  const lines = await waitUntil(() => {
    const found = read();
    return found.length >= modelCalls() ? found : undefined;
  }, 'the worker has logged every model call');
  expect(lines.length).toBe(modelCalls());
  for (const l of lines) {
    expect(l.attempt).toEqual(expect.any(Number));
    expect(l.model).toEqual(expect.any(String));
    expect(l.inputTokens).toEqual(expect.any(Number));
    expect(l.outputTokens).toEqual(expect.any(Number));
    expect(l.costUsd).toEqual(expect.any(Number));
  }
  const subtaskLines = lines.filter((l) => l.activityType === 'runSubtask');
  expect(subtaskLines.map((l) => l.subtaskId).sort()).toEqual(doc.subtasks.map((s) => s.id).sort());
  expect(lines.reduce((n, l) => n + (l.costUsd as number), 0)).toBeCloseTo(doc.usage.costUsd, 6);
});

test("the Anthropic SDK's deprecation warning goes through renga's logger, not raw to stderr", async () => {
  const warnings = await waitUntil(() => {
    const found = worker
      .output()
      .split('\n')
      .filter((l) => l.includes(`'${DEPRECATED_MODEL}' is deprecated`));
    return found.length ? found : undefined;
  }, 'the worker has warned about the deprecated model');
  for (const w of warnings) expect(JSON.parse(w)).toMatchObject({ level: 'WARN', source: 'console' });
});

/** A job on its own task queue and worker, traced; returns its document and its model-call spans. */
async function tracedJob(job: string, workerEnv: Record<string, string>, cliEnv: Record<string, string> = {}) {
  const j = jaeger!;
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: j.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: '200' };
  const taskQueue = `${stack.taskQueue}-${randomBytes(4).toString('hex')}`;
  const w = await stack.spawnWorker({ ...otel, ...workerEnv, RENGA_TASK_QUEUE: taskQueue, RENGA_LOG_FORMAT: 'json' });
  const run = await runCli(stack, ['run', '--json', '--max-subtasks', '2', job], {
    ...otel,
    ...cliEnv,
    RENGA_TASK_QUEUE: taskQueue,
    OTEL_SERVICE_NAME: CLI_SERVICE,
  });
  if (run.code !== 0) throw new Error(`renga run exited ${run.code}: ${run.stderr}`);
  const d = ResultDocumentSchema.parse(JSON.parse(run.stdout));
  const chats = await waitUntil(async () => {
    const [found] = await findTraces(j, CLI_SERVICE, 'temporalWorkflowId', d.workflowId);
    const t = found && (await getTrace(j, found.traceID));
    const spans = t?.spans.filter((sp) => sp.operationName.startsWith('chat ')) ?? [];
    return spans.length >= d.subtasks.length + 2 ? spans : undefined;
  }, 'the trace holds every model call');
  return { doc: d, chats, worker: w };
}

test('prompt and answer text go on spans only with RENGA_OTEL_CAPTURE_CONTENT=true, and never with encryption on', async () => {
  const plain = await tracedJob('Name two mountain ranges', { RENGA_OTEL_CAPTURE_CONTENT: 'true' });
  for (const c of plain.chats) {
    expect(JSON.parse(String(tag(c, 'gen_ai.input.messages')))).toEqual(
      expect.arrayContaining([expect.objectContaining({ role: 'user' })]),
    );
    expect(String(tag(c, 'gen_ai.input.messages'))).toContain('Name two mountain ranges');
    const [out] = JSON.parse(String(tag(c, 'gen_ai.output.messages'))) as { role: string; parts: unknown[] }[];
    expect(out?.role).toBe('assistant');
    expect(typeof tag(c, 'gen_ai.system_instructions')).toBe('string');
  }
  expect(plain.doc.answer).not.toBeNull();
  const answers = plain.chats.map((c) => String(tag(c, 'gen_ai.output.messages')));
  expect(answers.some((a) => a.includes(JSON.stringify(plain.doc.answer).slice(1, 40)))).toBe(true);

  const key = `k1:${randomBytes(32).toString('base64')}`;
  const sealed = await tracedJob(
    'Name two deserts',
    { RENGA_OTEL_CAPTURE_CONTENT: 'true', RENGA_ENCRYPTION_KEYS: key },
    { RENGA_ENCRYPTION_KEYS: key },
  );
  for (const c of sealed.chats) {
    expect(tag(c, 'gen_ai.input.messages')).toBeUndefined();
    expect(tag(c, 'gen_ai.output.messages')).toBeUndefined();
    expect(tag(c, 'gen_ai.system_instructions')).toBeUndefined();
    expect(tag(c, 'gen_ai.usage.output_tokens')).toEqual(expect.any(Number));
  }
  expect(sealed.worker.output()).toContain('RENGA_OTEL_CAPTURE_CONTENT is ignored: payload encryption is on');
});

test('a rate-limited call is counted, logged and traced with its failure type (the dashboard’s 429 panel)', async () => {
  const p = prometheus!;
  const marker = `Rate limit probe ${randomBytes(4).toString('hex')}`;
  stack.sim.script({ kind: 'rateLimit', match: { textIncludes: marker }, times: 2, retryAfterSeconds: 0 });
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger!.otlpEndpoint, OTEL_SERVICE_NAME: CLI_SERVICE };
  const run = await runCli(stack, ['run', '--json', '--max-subtasks', '2', marker], otel);
  expect(run.code).toBe(0);
  const id = ResultDocumentSchema.parse(JSON.parse(run.stdout)).workflowId;
  const refused = (await callsOf(stack.sim, id)).filter((e) => e.status === 429).length;
  expect(refused).toBe(2);

  await waitUntil(async () => {
    const [r] = await p.query('sum(renga_model_calls_total{outcome="RateLimited"})');
    return r !== undefined && r.value >= refused;
  }, 'Prometheus has scraped the refused calls');
  const [r] = await p.query('sum(renga_model_calls_total{outcome="RateLimited"})');
  expect(r?.value).toBe(refused);

  const failed = await waitUntil(() => {
    const lines = worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'model call failed' && l.workflowId === id);
    return lines.length >= refused ? lines : undefined;
  }, 'the worker has logged the refused calls');
  expect(failed.map((l) => l.outcome)).toEqual(['RateLimited', 'RateLimited']);
  for (const l of failed) expect(l.attempt).toEqual(expect.any(Number));

  const spans = await waitUntil(async () => {
    const [found] = await findTraces(jaeger!, CLI_SERVICE, 'temporalWorkflowId', id);
    const t = found && (await getTrace(jaeger!, found.traceID));
    const errs = t?.spans.filter((s) => s.operationName.startsWith('chat ') && tag(s, 'error.type')) ?? [];
    return errs.length >= refused ? errs : undefined;
  }, 'the refused calls are in the trace');
  for (const s of spans) {
    expect(tag(s, 'error.type')).toBe('RateLimited');
    expect(tag(s, 'otel.status_code')).toBe('ERROR');
  }
});

// Last: by now the scrape has seen a job, its model calls and a 429, so every series the dashboard
// charts has had a sample (labelled series only exist in Prometheus once something was counted).
test('every metric the Grafana dashboard charts is in the real scrape', async () => {
  const p = prometheus!;
  const charted = new Set(
    dashboardPanels().flatMap((d) => (d.targets ?? []).flatMap((t) => metricNames(t.expr ?? ''))),
  );
  const missing: string[] = [];
  for (const m of charted) {
    const series = await p.query(`count({__name__=~"${m}(_bucket|_total)?"})`);
    if (!series.length) missing.push(m);
  }
  expect(missing).toEqual([]);
});
