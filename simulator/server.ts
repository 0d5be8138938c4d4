import * as http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type {
  ContentBlock,
  Message,
  RawMessageStreamEvent,
  StopReason,
  Usage,
} from '@anthropic-ai/sdk/resources/messages';
import { z } from 'zod';
import {
  errorBody,
  invalidRequest,
  notFound,
  overloaded,
  rateLimited,
  serverError,
  tooLarge,
  unauthorized,
  type ApiErrorSpec,
} from './errors';
import { AnswerScript, type ScriptedAnswer } from './answers';
import { MessageBatchStore, sendJsonl } from './batches';
import { FaultPlanner, type FaultDecision } from './faults';
import { chunk, estimateTokens, generateFromSchema, promptWords, textAnswer, tokensForChars } from './generate';
import { attributionOf, InFlightRequests } from './attribution';
import { RateLimitConfigSchema, RateLimits, type FamilyAccounting, type RateLimitConfig } from './rate-limits';
import { forModel, type PerModel } from './latency';
import { logFields, validateMessagesRequest, type MessagesRequest } from './request';
import { PromptCache, type CacheUsage } from './prompt-cache';
import { agentLogEntry, nextMove } from './tools';
import {
  DEFAULT_MODELS,
  type FaultConfig,
  type MessageBatchRecord,
  type RequestAttribution,
  type RequestLogEntry,
  type ScriptedFault,
  type Simulator,
  type SimulatorConfigPatch,
  type SimulatorOptions,
} from './types';

export * from './types';

/** The real API's request size limit for the Messages endpoint. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Text deltas of about this many characters, like the real service's small chunks. */
const DELTA_CHARS = 20;
/** The real service fails a stream only after it has started; this many deltas go out first. */
const DELTAS_BEFORE_STREAM_ERROR = 2;

// ---------------------------------------------------------------------------------------------
// Control-endpoint input (another process drives the simulator over HTTP, so validate it).

const rate = z.number().min(0).max(1);
const FaultConfigSchema = z.strictObject({
  rateLimit: rate.optional(),
  overloaded: rate.optional(),
  server: rate.optional(),
  reset: rate.optional(),
  streamError: rate.optional(),
  stall: rate.optional(),
  retryAfterSeconds: z.number().min(0).optional(),
  onlyModels: z.array(z.string()).optional(),
});
const ConfigPatchSchema = z.strictObject({
  latencyMs: z.union([z.number().min(0), z.record(z.string(), z.number().min(0))]).optional(),
  faults: FaultConfigSchema.optional(),
  streamChunkDelayMs: z.union([z.number().min(0), z.record(z.string(), z.number().min(0))]).optional(),
  seed: z.number().int().optional(),
  batches: z
    .strictObject({
      processingMs: z.number().min(0).optional(),
      erroredRate: rate.optional(),
      expiredRate: rate.optional(),
      erroredIncludes: z.array(z.string()).optional(),
      expiredIncludes: z.array(z.string()).optional(),
    })
    .optional(),
});
const ScriptedFaultSchema = z.strictObject({
  kind: z.enum([
    'rateLimit',
    'overloaded',
    'server',
    'reset',
    'streamError',
    'stall',
    'badRequest',
    'unauthorized',
    'notFound',
    'tooLarge',
  ]),
  match: z
    .strictObject({
      model: z.string().optional(),
      textIncludes: z.string().optional(),
      workflowId: z.string().optional(),
    })
    .optional(),
  times: z.number().int().positive().optional(),
  retryAfterSeconds: z.number().min(0).optional(),
});
const ScriptSchema = z.union([z.array(ScriptedFaultSchema), ScriptedFaultSchema]);

// ---------------------------------------------------------------------------------------------

type BodyRead = { kind: 'ok'; buf: Buffer } | { kind: 'tooLarge' } | { kind: 'aborted' };

async function readBody(req: http.IncomingMessage, limit: number): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = Number(req.headers['content-length'] ?? 0) > limit;
  try {
    // Keep draining past the limit: answering before the upload ends makes clients see a reset, not a 413.
    for await (const c of req as AsyncIterable<Buffer | string>) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      size += b.length;
      if (over) continue;
      if (size > limit) {
        over = true;
        chunks.length = 0;
      } else {
        chunks.push(b);
      }
    }
  } catch {
    return { kind: 'aborted' };
  }
  if (req.destroyed && !req.complete) return { kind: 'aborted' };
  return over ? { kind: 'tooLarge' } : { kind: 'ok', buf: Buffer.concat(chunks) };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (client gone or simulator closing). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** SDK 1.14 sends an API key as `Authorization: Bearer`; older clients and curl use `x-api-key`. */
function presentedKey(req: http.IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  const match = auth === undefined ? null : /^Bearer\s+(.+)$/i.exec(auth);
  return match ? match[1] : undefined;
}

function usageOf(input: number, output: number, cache: CacheUsage = { read: 0, write: 0 }): Usage {
  return {
    input_tokens: input,
    output_tokens: output,
    cache_creation_input_tokens: cache.write,
    cache_read_input_tokens: cache.read,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: 'standard',
  };
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

/** What the simulated model produced for one request. */
interface Produced {
  block: ContentBlock;
  /** Text, or the JSON of a tool input, exactly as served. */
  served: string;
  stopReason: StopReason;
  inputTokens: number;
  outputTokens: number;
  /** Prompt-cache reads and writes (simulator/prompt-cache.ts); `inputTokens` is what is left. */
  cache: CacheUsage;
}

type SseEvent =
  | RawMessageStreamEvent
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string }; request_id: string };

class SimulatorServer implements Simulator {
  url = '';
  port = 0;
  readonly log: RequestLogEntry[] = [];

  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly inflight = new Set<AbortController>();
  private readonly open = new InFlightRequests();
  private readonly planner: FaultPlanner;
  private readonly models: ReadonlySet<string>;
  private readonly apiKey: string | undefined;
  private readonly arrayItems: number;
  private latencyMs: PerModel;
  private streamChunkDelayMs: PerModel;
  private seed: number;
  private seq = 0;
  private idCounter = 0;
  // Ids only need to be unique; the prefix tells simulator output apart from real output in logs.
  private readonly instanceTag = randomBytes(3).toString('hex');
  private closing: Promise<void> | null = null;
  private readonly batchStore: MessageBatchStore;
  private readonly rateLimits: RateLimits;
  private readonly answers = new AnswerScript();
  private readonly promptCache = new PromptCache();

  constructor(opts: SimulatorOptions) {
    this.rateLimits = new RateLimits(opts.rateLimits);
    this.seed = opts.seed ?? 1;
    this.planner = new FaultPlanner(this.seed, opts.faults ?? {});
    this.models = new Set(opts.models ?? DEFAULT_MODELS);
    this.apiKey = opts.apiKey;
    this.arrayItems = opts.arrayItems ?? 3;
    this.latencyMs = opts.latencyMs ?? 0;
    this.streamChunkDelayMs = opts.streamChunkDelayMs ?? 0;
    this.batchStore = new MessageBatchStore(
      {
        baseUrl: () => this.url,
        newId: (prefix) => this.newId(prefix),
        answer: (request) => this.batchAnswer(request),
        now: () => Date.now(),
      },
      opts.batches,
      this.seed,
    );
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') {
          reject(new Error('simulator: unexpected server address'));
          return;
        }
        this.port = addr.port;
        const h = host.includes(':') ? `[${host}]` : host;
        this.url = `http://${h}:${addr.port}`;
        resolve();
      });
    });
  }

  get batches(): MessageBatchRecord[] {
    return this.batchStore.records;
  }

  configure(patch: SimulatorConfigPatch): void {
    if (patch.batches !== undefined) this.batchStore.configure(patch.batches);
    if (patch.latencyMs !== undefined) this.latencyMs = patch.latencyMs;
    if (patch.streamChunkDelayMs !== undefined) this.streamChunkDelayMs = patch.streamChunkDelayMs;
    // `faults` replaces the whole config, so `{ faults: {} }` switches random faults off.
    if (patch.faults !== undefined) this.planner.setConfig(patch.faults);
    if (patch.seed !== undefined) {
      this.seed = patch.seed;
      this.planner.reseed(patch.seed);
    }
  }

  script(...faults: ScriptedFault[]): void {
    this.planner.enqueue(faults);
  }

  inFlight(): RequestAttribution[] {
    return this.open.list();
  }

  setRateLimits(config: RateLimitConfig): void {
    this.rateLimits.configure(config);
  }

  rateLimitAccounting(): Record<string, FamilyAccounting> {
    return this.rateLimits.accounting();
  }

  scriptAnswer(...answers: ScriptedAnswer[]): void {
    this.answers.enqueue(answers);
  }

  clearLog(): void {
    // In place: callers may hold a reference to `log`.
    this.log.length = 0;
    this.batchStore.records.length = 0;
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        for (const ac of this.inflight) ac.abort();
        for (const socket of this.sockets) socket.destroy();
        this.server.closeAllConnections();
      });
    }
    return this.closing;
  }

  private currentConfig(): {
    latencyMs: PerModel;
    streamChunkDelayMs: PerModel;
    seed: number;
    faults: FaultConfig;
    batches: ReturnType<MessageBatchStore['getConfig']>;
  } {
    return {
      latencyMs: this.latencyMs,
      streamChunkDelayMs: this.streamChunkDelayMs,
      seed: this.seed,
      faults: this.planner.getConfig(),
      batches: this.batchStore.getConfig(),
    };
  }

  private latencyFor(model: string): number {
    return forModel(this.latencyMs, model);
  }

  private newId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}${this.instanceTag}${this.idCounter.toString(36).padStart(8, '0')}`;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.handle(req, res).catch((err: unknown) => {
      // A simulator bug must reach the client as a 500, never as a request that hangs.
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) {
        sendJson(res, 500, errorBody('api_error', `simulator failure: ${message}`, this.newId('req_sim_')));
      } else {
        res.destroy();
      }
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    if (path === '/_sim' || path.startsWith('/_sim/')) return this.handleControl(req, res, path);
    if (path.startsWith('/v1/')) {
      const done = this.open.enter(attributionOf(req.headers));
      try {
        return await this.handleApi(req, res, path);
      } finally {
        done();
      }
    }
    await readBody(req, MAX_BODY_BYTES);
    const requestId = this.newId('req_sim_');
    const spec = notFound(`Not found: ${req.method ?? 'GET'} ${path}`);
    sendJson(res, spec.status, errorBody(spec.type, spec.message, requestId), { 'request-id': requestId });
  }

  // -------------------------------------------------------------------------------------------
  // Control endpoints

  private async handleControl(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body.kind !== 'ok') {
      if (body.kind === 'tooLarge') sendJson(res, 413, { error: 'body too large' });
      return;
    }
    /** The JSON body validated against a schema; answers 400 itself and returns null when it is not. */
    const parseBody = <T>(schema: z.ZodType<T>): T | null => {
      let raw: unknown;
      try {
        raw = JSON.parse(body.buf.toString('utf8'));
      } catch {
        sendJson(res, 400, { error: 'body is not valid JSON' });
        return null;
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        sendJson(res, 400, { error: z.prettifyError(parsed.error) });
        return null;
      }
      return parsed.data;
    };

    if (path === '/_sim/health' && method === 'GET') {
      sendJson(res, 200, {
        ok: true,
        url: this.url,
        models: [...this.models],
        requests: this.seq,
        pendingScripted: this.planner.pendingScripted(),
        config: this.currentConfig(),
      });
      return;
    }
    if (path === '/_sim/inflight' && method === 'GET') {
      sendJson(res, 200, this.inFlight());
      return;
    }
    if (path === '/_sim/log' && method === 'GET') {
      sendJson(res, 200, this.log);
      return;
    }
    if (path === '/_sim/log' && method === 'DELETE') {
      const cleared = this.log.length;
      this.clearLog();
      sendJson(res, 200, { ok: true, cleared });
      return;
    }
    if (path === '/_sim/config' && method === 'POST') {
      const patch = parseBody(ConfigPatchSchema);
      if (patch === null) return;
      this.configure(patch);
      sendJson(res, 200, { ok: true, config: this.currentConfig() });
      return;
    }
    if (path === '/_sim/script' && method === 'POST') {
      const script = parseBody(ScriptSchema);
      if (script === null) return;
      const faults = Array.isArray(script) ? script : [script];
      this.script(...faults);
      sendJson(res, 200, { ok: true, queued: faults.length, pendingScripted: this.planner.pendingScripted() });
      return;
    }
    if (path === '/_sim/rate-limits' && method === 'GET') {
      sendJson(res, 200, { config: this.rateLimits.getConfig(), accounting: this.rateLimits.accounting() });
      return;
    }
    if (path === '/_sim/rate-limits' && method === 'POST') {
      const config = parseBody(RateLimitConfigSchema);
      if (config === null) return;
      this.setRateLimits(config);
      sendJson(res, 200, { ok: true, config, accounting: this.rateLimits.accounting() });
      return;
    }
    if (path === '/_sim/script' && method === 'DELETE') {
      this.planner.clearScript();
      sendJson(res, 200, { ok: true });
      return;
    }
    sendJson(res, 404, { error: `no control endpoint ${method} ${path}` });
  }

  // -------------------------------------------------------------------------------------------
  // Messages API

  private async handleApi(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    this.seq += 1;
    const entry: RequestLogEntry = {
      ...attributionOf(req.headers),
      seq: this.seq,
      at: new Date().toISOString(),
      method: req.method ?? 'GET',
      path,
      model: null,
      stream: false,
      structured: false,
      system: null,
      lastUserText: '',
      status: 0,
      outcome: 'error',
      fault: null,
      usage: null,
      responseText: null,
    };
    const requestId = this.newId('req_sim_');
    const ac = new AbortController();
    this.inflight.add(ac);
    res.on('close', () => {
      this.inflight.delete(ac);
      if (!res.writableFinished) ac.abort();
    });

    const sendError = (spec: ApiErrorSpec, outcome: 'fault' | 'error', fault: string | null): void => {
      this.record(entry, spec.status, outcome, fault);
      sendJson(res, spec.status, errorBody(spec.type, spec.message, requestId), {
        'request-id': requestId,
        ...spec.headers,
      });
    };

    const body = await readBody(req, MAX_BODY_BYTES);
    if (body.kind === 'aborted') {
      this.record(entry, 0, 'fault', 'aborted');
      return;
    }
    if (path === '/v1/messages/batches' || path.startsWith('/v1/messages/batches/')) {
      if (body.kind === 'tooLarge') return sendError(tooLarge(), 'error', null);
      if (this.apiKey !== undefined) {
        const key = presentedKey(req);
        if (key === undefined) return sendError(unauthorized('x-api-key header is required'), 'error', null);
        if (key !== this.apiKey) return sendError(unauthorized(), 'error', null);
      }
      if (req.headers['anthropic-version'] === undefined) {
        return sendError(invalidRequest('anthropic-version: header is required'), 'error', null);
      }
      let batchBody: unknown = undefined;
      if (body.buf.length > 0) {
        try {
          batchBody = JSON.parse(body.buf.toString('utf8'));
        } catch {
          return sendError(
            invalidRequest('There was an error parsing the body of your request: invalid JSON'),
            'error',
            null,
          );
        }
      }
      const routed = this.batchStore.route(req.method ?? 'GET', path, batchBody, entry.workflowId);
      if (routed.kind === 'error') return sendError(routed.error, 'error', null);
      this.record(entry, 200, 'ok', null);
      if (routed.kind === 'jsonl') return sendJsonl(res, routed.lines, { 'request-id': requestId });
      sendJson(res, routed.status, routed.body, { 'request-id': requestId });
      return;
    }
    const isMessages = path === '/v1/messages';
    const isCount = path === '/v1/messages/count_tokens';
    if ((!isMessages && !isCount) || req.method !== 'POST') {
      return sendError(notFound(`Not found: ${req.method ?? 'GET'} ${path}`), 'error', null);
    }
    if (body.kind === 'tooLarge') return sendError(tooLarge(), 'error', null);

    let json: unknown;
    try {
      json = JSON.parse(body.buf.toString('utf8'));
    } catch {
      return sendError(
        invalidRequest('There was an error parsing the body of your request: invalid JSON'),
        'error',
        null,
      );
    }
    Object.assign(entry, logFields(json));

    if (this.apiKey !== undefined) {
      const key = presentedKey(req);
      if (key === undefined) return sendError(unauthorized('x-api-key header is required'), 'error', null);
      if (key !== this.apiKey) return sendError(unauthorized(), 'error', null);
    }
    if (req.headers['anthropic-version'] === undefined) {
      return sendError(invalidRequest('anthropic-version: header is required'), 'error', null);
    }
    const v = validateMessagesRequest(json, isCount);
    if (!v.ok) return sendError(v.error, 'error', null);
    const request = v.request;
    if (request.agent) entry.agent = agentLogEntry(request.agent, null);
    if (!this.models.has(request.model)) return sendError(notFound(`model: ${request.model}`), 'error', null);

    if (isCount) {
      if (!(await sleep(this.latencyFor(request.model), ac.signal))) {
        this.record(entry, 0, 'fault', 'aborted');
        return;
      }
      const inputTokens = tokensForChars(request.inputChars);
      entry.usage = { input_tokens: inputTokens, output_tokens: 0 };
      this.record(entry, 200, 'ok', null);
      sendJson(res, 200, { input_tokens: inputTokens }, { 'request-id': requestId });
      return;
    }

    // The account's rate limits come first, like the API's: a refused request costs nothing else.
    const admission = this.rateLimits.admit(request.model, tokensForChars(request.inputChars), request.maxTokens ?? 0);
    if (admission.shadow !== null) entry.rateLimitShadow = admission.shadow;
    if (!admission.ok) return sendError(admission.error, 'fault', 'overLimit');

    // Decided on arrival, not after the latency wait, so the fault sequence follows request order.
    const fault = this.planner.decide({
      model: request.model,
      stream: request.stream,
      // Inside an agent loop, later turns carry tool results: match the conversation's start too.
      lastUserText: request.agent ? `${request.agent.head}\n${request.lastUserText}` : request.lastUserText,
      workflowId: entry.workflowId,
    });
    if (!(await sleep(this.latencyFor(request.model), ac.signal))) {
      this.record(entry, 0, 'fault', 'aborted');
      return;
    }

    if (fault && fault.kind !== 'streamError' && fault.kind !== 'stall') {
      if (fault.kind === 'reset') {
        this.record(entry, 0, 'fault', 'reset');
        req.socket.destroy();
        return;
      }
      return sendError(this.faultError(fault, request), 'fault', fault.kind);
    }

    const produced = this.answers.apply(request, this.produce(request, entry));
    if (request.stream) {
      const mode = fault?.kind === 'stall' ? 'stall' : fault?.kind === 'streamError' ? 'streamError' : 'ok';
      await this.serveStream(res, entry, request, produced, requestId, mode, ac.signal, admission.headers);
      // Like the API: the output-token estimate (max_tokens) is corrected once the answer has ended.
      admission.settle(produced.outputTokens);
      return;
    }
    admission.settle(produced.outputTokens);
    const message = this.messageOf(request, produced, produced.block, produced.stopReason, produced.outputTokens);
    entry.usage = usageLog(produced);
    entry.responseText = produced.served;
    this.record(entry, 200, 'ok', null);
    sendJson(res, 200, message, { 'request-id': requestId, ...admission.headers });
  }

  /** One batch item's answer: what a non-streaming call would have returned, without latency or faults. */
  private batchAnswer(request: MessagesRequest): Message | ApiErrorSpec {
    if (!this.models.has(request.model)) return notFound(`model: ${request.model}`);
    const produced = this.produce(request);
    return this.messageOf(request, produced, produced.block, produced.stopReason, produced.outputTokens);
  }

  private faultError(fault: FaultDecision, request: MessagesRequest): ApiErrorSpec {
    switch (fault.kind) {
      case 'rateLimit':
        return rateLimited(new Date(), fault.retryAfterSeconds);
      case 'overloaded':
        return overloaded();
      case 'server':
        return serverError();
      case 'badRequest':
        return invalidRequest('messages: simulated invalid request (injected fault)');
      case 'unauthorized':
        return unauthorized();
      case 'notFound':
        return notFound(`model: ${request.model}`);
      case 'tooLarge':
        return tooLarge();
      default:
        return serverError();
    }
  }

  private record(
    entry: RequestLogEntry,
    status: number,
    outcome: RequestLogEntry['outcome'],
    fault: string | null,
  ): void {
    entry.status = status;
    entry.outcome = outcome;
    entry.fault = fault;
    // Recorded before the last byte is written, so a client that has its answer always finds the entry.
    this.log.push(entry);
  }

  private produce(request: MessagesRequest, entry?: RequestLogEntry): Produced {
    const cache = this.promptCache.account(request.body, request.model);
    const inputTokens = tokensForChars(request.inputChars) - cache.read - cache.write;
    const gen = { words: promptWords(request.lastUserText), arrayItems: this.arrayItems };
    const move = request.agent
      ? nextMove(request.agent, this.arrayItems, (head) => textAnswer(request.model, head, request.promptDigest))
      : null;
    if (request.agent && entry) entry.agent = agentLogEntry(request.agent, move);
    if (move?.kind === 'tool') {
      const served = JSON.stringify(move.input);
      return {
        block: {
          type: 'tool_use',
          id: this.newId('toolu_sim_'),
          name: move.name,
          input: move.input,
          caller: { type: 'direct' },
        },
        served,
        stopReason: 'tool_use',
        inputTokens,
        outputTokens: estimateTokens(served),
        cache,
      };
    }
    if (request.forcedTool) {
      const input = generateFromSchema(request.forcedTool.inputSchema ?? { type: 'object' }, gen);
      const served = JSON.stringify(input);
      return {
        block: {
          type: 'tool_use',
          id: this.newId('toolu_sim_'),
          name: request.forcedTool.name,
          input,
          caller: { type: 'direct' },
        },
        served,
        stopReason: 'tool_use',
        inputTokens,
        outputTokens: estimateTokens(served),
        cache,
      };
    }
    let text =
      move?.kind === 'answer'
        ? move.text
        : request.format
          ? JSON.stringify(generateFromSchema(request.format, gen))
          : textAnswer(request.model, request.lastUserText, request.promptDigest);
    let stopReason: StopReason = 'end_turn';
    const limit = request.maxTokens ?? Infinity;
    // Like the real model, an answer longer than max_tokens is cut off (which also breaks its JSON).
    if (estimateTokens(text) > limit) {
      text = Array.from(text)
        .slice(0, limit * 4)
        .join('');
      stopReason = 'max_tokens';
    }
    return {
      block: { type: 'text', text, citations: null },
      served: text,
      stopReason,
      inputTokens,
      outputTokens: Math.min(estimateTokens(text), limit),
      cache,
    };
  }

  private messageOf(
    request: MessagesRequest,
    produced: Produced,
    block: ContentBlock | null,
    stopReason: StopReason | null,
    outputTokens: number,
  ): Message {
    return {
      id: this.newId('msg_sim_'),
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: block ? [block] : [],
      stop_reason: stopReason,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: usageOf(produced.inputTokens, outputTokens, produced.cache),
    };
  }

  private async serveStream(
    res: http.ServerResponse,
    entry: RequestLogEntry,
    request: MessagesRequest,
    produced: Produced,
    requestId: string,
    mode: 'ok' | 'streamError' | 'stall',
    signal: AbortSignal,
    rateLimitHeaders: Record<string, string>,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': requestId,
      ...rateLimitHeaders,
    });
    const send = (event: SseEvent): void => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };

    const start = this.messageOf(request, produced, null, null, 1);
    if (mode === 'stall') {
      this.record(entry, 200, 'fault', 'stall');
      send({ type: 'message_start', message: start });
      await untilAborted(signal);
      return;
    }
    send({ type: 'message_start', message: start });

    const block = produced.block;
    const isTool = block.type === 'tool_use';
    send({
      type: 'content_block_start',
      index: 0,
      content_block: isTool ? { ...block, input: {} } : { type: 'text', text: '', citations: null },
    });
    send({ type: 'ping' });

    const pieces = chunk(produced.served, DELTA_CHARS);
    for (let i = 0; i < pieces.length; i++) {
      if (mode === 'streamError' && i === DELTAS_BEFORE_STREAM_ERROR) break;
      if (i > 0 && !(await sleep(forModel(this.streamChunkDelayMs, request.model), signal))) {
        this.record(entry, 200, 'fault', 'aborted');
        return;
      }
      const piece = pieces[i]!;
      send({
        type: 'content_block_delta',
        index: 0,
        delta: isTool ? { type: 'input_json_delta', partial_json: piece } : { type: 'text_delta', text: piece },
      });
    }
    if (mode === 'streamError') {
      this.record(entry, 200, 'fault', 'streamError');
      send({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: requestId });
      res.end();
      return;
    }

    send({ type: 'content_block_stop', index: 0 });
    send({
      type: 'message_delta',
      delta: { stop_reason: produced.stopReason, stop_sequence: null, stop_details: null, container: null },
      usage: {
        input_tokens: produced.inputTokens,
        output_tokens: produced.outputTokens,
        cache_creation_input_tokens: produced.cache.write,
        cache_read_input_tokens: produced.cache.read,
        output_tokens_details: null,
        server_tool_use: null,
      },
    });
    entry.usage = usageLog(produced);
    entry.responseText = produced.served;
    this.record(entry, 200, 'ok', null);
    send({ type: 'message_stop' });
    res.end();
  }
}

function usageLog(p: Produced): NonNullable<RequestLogEntry['usage']> {
  return {
    input_tokens: p.inputTokens,
    output_tokens: p.outputTokens,
    cache_read_input_tokens: p.cache.read,
    cache_creation_input_tokens: p.cache.write,
  };
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimulatorServer(opts);
  await sim.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  return sim;
}
