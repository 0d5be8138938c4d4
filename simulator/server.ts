/**
 * The Messages API simulator: an HTTP server that answers like api.anthropic.com (Messages, token
 * counting, Message Batches) with deterministic content, configurable latency and injected faults.
 * This file is the server and its routing; the parts live beside it: http.ts (plumbing),
 * control.ts (`/_sim` endpoints), messages.ts (what the model answers), streaming.ts (SSE),
 * batch-routes.ts and batches.ts (Message Batches).
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { errorBody, invalidRequest, notFound, tooLarge, unauthorized, type ApiErrorSpec } from './errors';
import { AnswerScript, type ScriptedAnswer } from './answers';
import { attributionOf, InFlightRequests } from './attribution';
import { routeBatchRequest } from './batch-routes';
import { MessageBatchStore } from './batches';
import { handleControl, type ControlTarget } from './control';
import { FaultPlanner } from './faults';
import { tokensForChars } from './generate';
import { MAX_BODY_BYTES, presentedKey, readBody, sendJson, sleep } from './http';
import { forModel, type PerModel } from './latency';
import { RateLimits, type FamilyAccounting, type RateLimitConfig } from './rate-limits';
import { MessageFactory, faultError, usageLog } from './messages';
import { logFields, validateMessagesRequest, type MessagesRequest } from './request';
import { serveStream } from './streaming';
import { agentLogEntry } from './tools';
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
  private readonly messages: MessageFactory;

  constructor(opts: SimulatorOptions) {
    this.rateLimits = new RateLimits(opts.rateLimits);
    this.seed = opts.seed ?? 1;
    this.planner = new FaultPlanner(this.seed, opts.faults ?? {});
    this.models = new Set(opts.models ?? DEFAULT_MODELS);
    this.apiKey = opts.apiKey;
    this.messages = new MessageFactory(opts.arrayItems ?? 3, (prefix) => this.newId(prefix));
    this.messages.promptCache.setEnabled(opts.promptCache ?? true);
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
    if (patch.promptCache !== undefined) this.messages.promptCache.setEnabled(patch.promptCache);
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

  peakInFlight(workflowId: string): number {
    return this.open.peak(workflowId);
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

  clearCache(): void {
    this.messages.promptCache.clear();
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
    if (path === '/_sim' || path.startsWith('/_sim/')) return handleControl(this.controlTarget(), req, res, path);
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

  /** What the `/_sim` control endpoints (control.ts) see of this simulator. */
  private controlTarget(): ControlTarget {
    return {
      url: this.url,
      models: this.models,
      log: this.log,
      requests: () => this.seq,
      pendingScripted: () => this.planner.pendingScripted(),
      currentConfig: () => this.currentConfig(),
      clearLog: () => this.clearLog(),
      configure: (patch) => this.configure(patch),
      script: (...faults) => this.script(...faults),
      clearScript: () => this.planner.clearScript(),
      scriptAnswers: (answers) => this.scriptAnswer(...answers),
      clearAnswers: () => this.answers.clear(),
      pendingAnswers: () => this.answers.pending(),
      clearCache: () => this.clearCache(),
      inFlight: () => this.inFlight(),
      rateLimits: () => ({ config: this.rateLimits.getConfig(), accounting: this.rateLimits.accounting() }),
      setRateLimits: (config) => this.setRateLimits(config),
    };
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
      const routed = routeBatchRequest(this.batchStore, this.apiKey, req, path, body.buf, entry.workflowId);
      if (routed.kind === 'error') return sendError(routed.error, 'error', null);
      this.record(entry, 200, 'ok', null);
      return routed.send(res, { 'request-id': requestId });
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
      return sendError(faultError(fault, request), 'fault', fault.kind);
    }

    // A scripted answer rule (simulator/answers.ts) shapes what the model produces, then reshapes it.
    const rule = this.answers.take(request);
    const produced = this.answers.reshape(
      rule,
      { maxTokens: request.maxTokens, structured: request.format !== null },
      this.messages.produce(request, entry, rule),
    );
    if (request.stream) {
      const mode = fault?.kind === 'stall' ? 'stall' : fault?.kind === 'streamError' ? 'streamError' : 'ok';
      await serveStream(
        {
          messages: this.messages,
          record: (...args) => this.record(...args),
          chunkDelayMs: (model) => forModel(this.streamChunkDelayMs, model),
        },
        res,
        entry,
        request,
        produced,
        requestId,
        mode,
        ac.signal,
        admission.headers,
      );
      // Like the API: the output-token estimate (max_tokens) is corrected once the answer has ended.
      admission.settle(produced.outputTokens);
      return;
    }
    admission.settle(produced.outputTokens);
    const message = this.messages.messageOf(
      request,
      produced,
      produced.block,
      produced.stopReason,
      produced.outputTokens,
    );
    entry.usage = usageLog(produced);
    entry.stopReason = produced.stopReason;
    entry.responseText = produced.served;
    produced.cache.commit();
    this.record(entry, 200, 'ok', null);
    sendJson(res, 200, message, { 'request-id': requestId, ...admission.headers });
  }

  /**
   * One batch item's answer: what a non-streaming call would have returned, scripted answers
   * included (a script shapes what "the model" says, whichever endpoint asked), without latency or faults.
   */
  private batchAnswer(request: MessagesRequest): Message | ApiErrorSpec {
    if (!this.models.has(request.model)) return notFound(`model: ${request.model}`);
    const rule = this.answers.take(request);
    const produced = this.answers.reshape(
      rule,
      { maxTokens: request.maxTokens, structured: request.format !== null },
      this.messages.produce(request, undefined, rule),
    );
    produced.cache.commit();
    return this.messages.messageOf(request, produced, produced.block, produced.stopReason, produced.outputTokens);
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
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimulatorServer(opts);
  await sim.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  return sim;
}
