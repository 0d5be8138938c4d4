/**
 * The Message Batches endpoints of the simulator: create, retrieve, results (JSONL), cancel, list.
 * Shaped after @anthropic-ai/sdk's resources/messages/batches.ts so the real SDK
 * (`client.messages.batches.create/retrieve/results/cancel`) parses every answer.
 *
 * A batch is `in_progress` for `processingMs` after creation, then `ended`; results are decided at
 * creation (so a retrieve never changes them) and can be injected per item as `errored` or `expired`.
 */
import type * as http from 'node:http';
import type {
  MessageBatch,
  MessageBatchIndividualResponse,
  MessageBatchRequestCounts,
  MessageBatchResult,
} from '@anthropic-ai/sdk/resources/messages/batches';
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { invalidRequest, notFound, type ApiErrorSpec } from './errors';
import { mulberry32 } from './faults';
import { validateMessagesRequest, type MessagesRequest } from './request';
import type { BatchSimConfig, MessageBatchRecord } from './types';

/** The real API's limits: 100,000 requests per batch; results kept 29 days; a batch expires after 24 h. */
const MAX_REQUESTS = 100_000;
const EXPIRY_MS = 24 * 60 * 60 * 1000;
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

interface StoredBatch {
  id: string;
  createdAt: number;
  /** When processing finishes (or finished): `ended` from then on. */
  endsAt: number;
  cancelAt: number | null;
  items: Array<{ customId: string; result: MessageBatchResult }>;
  record: MessageBatchRecord;
}

export type BatchRoute =
  | { kind: 'answer'; status: number; body: unknown }
  | { kind: 'jsonl'; lines: string[] }
  | { kind: 'error'; error: ApiErrorSpec };

export interface BatchDeps {
  /** Absolute base URL of the simulator, for results_url. */
  baseUrl(): string;
  newId(prefix: string): string;
  /** The simulated model's answer to one request, or an error spec (unknown model). */
  answer(request: MessagesRequest): Message | ApiErrorSpec;
  now(): number;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class MessageBatchStore {
  readonly records: MessageBatchRecord[] = [];
  private readonly batches = new Map<string, StoredBatch>();
  private config: Required<BatchSimConfig>;
  private rng: () => number;

  constructor(
    private readonly deps: BatchDeps,
    config: BatchSimConfig = {},
    seed = 1,
  ) {
    this.config = withBatchDefaults(config);
    this.rng = mulberry32(seed ^ 0x5bd1e995);
  }

  configure(patch: BatchSimConfig): void {
    this.config = withBatchDefaults({ ...this.config, ...patch });
  }

  getConfig(): Required<BatchSimConfig> {
    return { ...this.config };
  }

  /** Routes /v1/messages/batches[...]; the caller has already checked auth and anthropic-version. */
  route(method: string, path: string, body: unknown, workflowId: string | null = null): BatchRoute {
    const rest = path.slice('/v1/messages/batches'.length);
    if (rest === '' || rest === '/') {
      if (method === 'POST') return this.create(body, workflowId);
      if (method === 'GET') return { kind: 'answer', status: 200, body: this.list() };
    }
    const m = /^\/([^/]+)(\/results|\/cancel)?$/.exec(rest);
    if (m) {
      const batch = this.batches.get(m[1]!);
      if (!batch) return { kind: 'error', error: notFound(`message batch ${m[1]} not found`) };
      if (!m[2] && method === 'GET') {
        batch.record.retrieves += 1;
        return { kind: 'answer', status: 200, body: this.view(batch) };
      }
      if (m[2] === '/results' && method === 'GET') return this.results(batch);
      if (m[2] === '/cancel' && method === 'POST') return this.cancel(batch);
    }
    return { kind: 'error', error: notFound(`Not found: ${method} ${path}`) };
  }

  private create(body: unknown, workflowId: string | null): BatchRoute {
    const fail = (message: string): BatchRoute => ({ kind: 'error', error: invalidRequest(message) });
    if (!isObj(body)) return fail('Request body must be a JSON object.');
    const requests = body.requests;
    if (!Array.isArray(requests)) return fail('requests: Field required');
    if (requests.length === 0) return fail('requests: List should have at least 1 item');
    if (requests.length > MAX_REQUESTS) return fail(`requests: at most ${MAX_REQUESTS} requests per batch`);
    const seen = new Set<string>();
    const parsed: Array<{ customId: string; request: MessagesRequest }> = [];
    for (let i = 0; i < requests.length; i++) {
      const r: unknown = requests[i];
      if (!isObj(r)) return fail(`requests.${i}: Input should be a valid dictionary`);
      if (typeof r.custom_id !== 'string' || !CUSTOM_ID.test(r.custom_id)) {
        return fail(`requests.${i}.custom_id: must match ^[a-zA-Z0-9_-]{1,64}$`);
      }
      if (seen.has(r.custom_id)) return fail(`requests.${i}.custom_id: duplicate custom_id '${r.custom_id}'`);
      seen.add(r.custom_id);
      if (isObj(r.params) && r.params.stream === true)
        return fail(`requests.${i}.params.stream: streaming is not supported in batches`);
      const v = validateMessagesRequest(r.params, false);
      if (!v.ok) return fail(`requests.${i}.params.${v.error.message}`);
      parsed.push({ customId: r.custom_id, request: v.request });
    }

    const now = this.deps.now();
    const id = this.deps.newId('msgbatch_sim_');
    const record: MessageBatchRecord = {
      id,
      workflowId,
      createdAt: new Date(now).toISOString(),
      customIds: parsed.map((p) => p.customId),
      texts: parsed.map((p) => p.request.lastUserText),
      outcomes: {},
      retrieves: 0,
      resultsFetches: 0,
      canceled: false,
    };
    const items = parsed.map(({ customId, request }) => {
      const result = this.decide(request);
      record.outcomes[customId] = result.type;
      return { customId, result };
    });
    const batch: StoredBatch = {
      id,
      createdAt: now,
      endsAt: now + this.config.processingMs,
      cancelAt: null,
      items,
      record,
    };
    this.batches.set(id, batch);
    this.records.push(record);
    return { kind: 'answer', status: 200, body: this.view(batch) };
  }

  private decide(request: MessagesRequest): MessageBatchResult {
    const text = request.lastUserText;
    const c = this.config;
    const errored =
      c.erroredIncludes.some((s) => text.includes(s)) || (c.erroredRate > 0 && this.rng() < c.erroredRate);
    if (errored) {
      return {
        type: 'errored',
        error: {
          type: 'error',
          error: { type: 'api_error', message: 'Internal server error (injected batch item fault)' },
          request_id: this.deps.newId('req_sim_'),
        },
      };
    }
    const expired =
      c.expiredIncludes.some((s) => text.includes(s)) || (c.expiredRate > 0 && this.rng() < c.expiredRate);
    if (expired) return { type: 'expired' };
    const answer = this.deps.answer(request);
    if ('status' in answer) {
      return {
        type: 'errored',
        error: {
          type: 'error',
          error: { type: answer.type as 'not_found_error', message: answer.message },
          request_id: this.deps.newId('req_sim_'),
        },
      };
    }
    // Batch answers are billed on the batch tier; the usage block says so.
    return { type: 'succeeded', message: { ...answer, usage: { ...answer.usage, service_tier: 'batch' } } };
  }

  private status(batch: StoredBatch): MessageBatch['processing_status'] {
    const now = this.deps.now();
    if (batch.cancelAt !== null && now <= batch.cancelAt) return 'canceling';
    return now >= batch.endsAt || batch.cancelAt !== null ? 'ended' : 'in_progress';
  }

  /** An item's final result: canceled when the cancel came before processing finished. */
  private finalResult(batch: StoredBatch, result: MessageBatchResult): MessageBatchResult {
    if (batch.cancelAt !== null && batch.cancelAt < batch.endsAt) return { type: 'canceled' };
    return result;
  }

  private view(batch: StoredBatch): MessageBatch {
    const status = this.status(batch);
    const counts: MessageBatchRequestCounts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    for (const item of batch.items) {
      if (status !== 'ended') counts.processing += 1;
      else counts[this.finalResult(batch, item.result).type] += 1;
    }
    batch.record.status = status;
    const endedAt =
      status === 'ended'
        ? new Date(batch.cancelAt !== null ? Math.min(batch.cancelAt, batch.endsAt) : batch.endsAt).toISOString()
        : null;
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: status,
      request_counts: counts,
      created_at: new Date(batch.createdAt).toISOString(),
      expires_at: new Date(batch.createdAt + EXPIRY_MS).toISOString(),
      ended_at: endedAt,
      cancel_initiated_at: batch.cancelAt !== null ? new Date(batch.cancelAt).toISOString() : null,
      archived_at: null,
      results_url: status === 'ended' ? `${this.deps.baseUrl()}/v1/messages/batches/${batch.id}/results` : null,
    };
  }

  private results(batch: StoredBatch): BatchRoute {
    if (this.status(batch) !== 'ended') {
      return {
        kind: 'error',
        error: invalidRequest(`message batch ${batch.id} is still processing; results are available once it has ended`),
      };
    }
    batch.record.resultsFetches += 1;
    const lines = batch.items.map((item) => {
      const line: MessageBatchIndividualResponse = {
        custom_id: item.customId,
        result: this.finalResult(batch, item.result),
      };
      return JSON.stringify(line);
    });
    return { kind: 'jsonl', lines };
  }

  private cancel(batch: StoredBatch): BatchRoute {
    if (this.status(batch) === 'in_progress') {
      batch.cancelAt = this.deps.now();
      batch.record.canceled = true;
    }
    return { kind: 'answer', status: 200, body: this.view(batch) };
  }

  private list(): { data: MessageBatch[]; has_more: boolean; first_id: string | null; last_id: string | null } {
    const data = [...this.batches.values()].reverse().map((b) => this.view(b));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  }
}

function withBatchDefaults(c: BatchSimConfig): Required<BatchSimConfig> {
  return {
    processingMs: c.processingMs ?? 0,
    erroredRate: c.erroredRate ?? 0,
    expiredRate: c.expiredRate ?? 0,
    erroredIncludes: c.erroredIncludes ?? [],
    expiredIncludes: c.expiredIncludes ?? [],
  };
}

export function sendJsonl(res: http.ServerResponse, lines: string[], headers: Record<string, string>): void {
  const body = lines.length ? `${lines.join('\n')}\n` : '';
  res.writeHead(200, {
    'content-type': 'application/binary',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}
