// Public contract of the simulator. Other packages import these names; keep them stable.
import type { FamilyAccounting, RateLimitConfig } from './rate-limits';

export type { FamilyAccounting, RateLimitConfig } from './rate-limits';
import type { ScriptedAnswer } from './answers';
import type { AgentLogEntry } from './tools';

export type { ScriptedAnswer };

export interface SimulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  /** Time to the first byte of an answer: one value, or per model id with '*' as the fallback. */
  latencyMs?: number | Record<string, number>;
  /** Pause between streamed deltas, likewise one value or per model. */
  streamChunkDelayMs?: number | Record<string, number>;
  faults?: FaultConfig;
  apiKey?: string;
  models?: string[];
  arrayItems?: number;
  /** Message Batches endpoints: processing time and per-item fault injection. */
  batches?: BatchSimConfig;
  /** Model the prompt cache (simulator/prompt-cache.ts); default on, like the service. */
  promptCache?: boolean;
  /** Per-model-family requests / input / output tokens per minute (simulator/rate-limits.ts); none: unlimited. */
  rateLimits?: RateLimitConfig;
}

export interface BatchSimConfig {
  /** A batch stays `in_progress` this long after creation, then `ended` (default 0). */
  processingMs?: number;
  /** Share (0..1) of batch items that end `errored` / `expired` (seeded, repeatable). */
  erroredRate?: number;
  expiredRate?: number;
  /** Items whose last user text contains one of these end `errored` / `expired`. */
  erroredIncludes?: string[];
  expiredIncludes?: string[];
}

/** What the simulator remembers about one message batch, for tests and the control endpoint. */
export interface MessageBatchRecord {
  id: string;
  /** The workflow that created it (`x-renga-workflow-id`), when a renga activity did. */
  workflowId: string | null;
  createdAt: string;
  customIds: string[];
  /** Last user text of each request, in order. */
  texts: string[];
  /** The result type each item has (or will have) once the batch ends. */
  outcomes: Record<string, 'succeeded' | 'errored' | 'expired' | 'canceled'>;
  status?: 'in_progress' | 'canceling' | 'ended';
  retrieves: number;
  resultsFetches: number;
  canceled: boolean;
}

export interface FaultConfig {
  rateLimit?: number;
  overloaded?: number;
  server?: number;
  reset?: number;
  streamError?: number;
  stall?: number;
  retryAfterSeconds?: number;
  onlyModels?: string[];
}

export type FaultKind =
  | 'rateLimit'
  | 'overloaded'
  | 'server'
  | 'reset'
  | 'streamError'
  | 'stall'
  | 'badRequest'
  /** A 400 about the request as a whole, worded like the API's: the prompt exceeds the context window. */
  | 'promptTooLong'
  | 'unauthorized'
  | 'notFound'
  | 'tooLarge';

export interface ScriptedFault {
  kind: FaultKind;
  /** `workflowId`: only calls renga's activities make for that workflow (its `x-renga-workflow-id`). */
  match?: { model?: string; textIncludes?: string; workflowId?: string };
  times?: number;
  retryAfterSeconds?: number;
}

/** Whose call a request is: renga's activities name their workflow, activity and attempt in headers. */
export interface RequestAttribution {
  workflowId: string | null;
  activityId: string | null;
  /** planJob, runSubtask, synthesize, … */
  activityType: string | null;
  attempt: number | null;
}

export interface RequestLogEntry extends RequestAttribution {
  seq: number;
  at: string;
  method: string;
  path: string;
  model: string | null;
  stream: boolean;
  structured: boolean;
  system: string | null;
  lastUserText: string;
  status: number;
  outcome: 'ok' | 'fault' | 'error';
  fault: string | null;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_read_input_tokens?: number;
    cache_creation_input_tokens?: number;
  } | null;
  responseText: string | null;
  /** How the served answer ended (Messages calls). */
  stopReason?: string | null;
  /** When the model's family has a requests limit: the simulator's shadow bucket after this request (see rate-limits.ts). */
  rateLimitShadow?: number;
  /** Requests that offered tools: the agent turn (simulator/tools.ts). */
  agent?: AgentLogEntry;
}

export type SimulatorConfigPatch = Partial<
  Pick<SimulatorOptions, 'latencyMs' | 'faults' | 'streamChunkDelayMs' | 'seed' | 'batches' | 'promptCache'>
>;

export interface Simulator {
  url: string;
  port: number;
  log: RequestLogEntry[];
  /** Every message batch created, in order. */
  batches: MessageBatchRecord[];
  configure(patch: SimulatorConfigPatch): void;
  script(...faults: ScriptedFault[]): void;
  /** Replaces the rate limits at run time (also `POST /_sim/rate-limits`). */
  setRateLimits(config: RateLimitConfig): void;
  /** Admitted / refused requests and the shadow bucket per family (also `GET /_sim/rate-limits`). */
  rateLimitAccounting(): Record<string, FamilyAccounting>;
  /** Reshape the next matching answers (simulator/answers.ts): extra plan items, max_tokens, prose. */
  scriptAnswer(...answers: ScriptedAnswer[]): void;
  /** Forget every cached prompt prefix. */
  clearCache(): void;
  clearLog(): void;
  /** Requests still being answered (their log entries are not final yet), with whose they are. */
  inFlight(): RequestAttribution[];
  /** Most requests of `workflowId` that were in flight at once. */
  peakInFlight(workflowId: string): number;
  close(): Promise<void>;
}

export const DEFAULT_MODELS: readonly string[] = [
  'claude-sonnet-4-6',
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-6',
  'claude-opus-4-5',
];
