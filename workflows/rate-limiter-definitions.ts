/** The shared rate limiter's interface (workflows/rate-limiter.ts), used by activities and clients. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FamilyBook, Lease, Observation, PerDimension } from '../shared/rate-limits';

/** One limiter per namespace and task queue: every worker on the queue shares it. */
export const rateLimiterWorkflowId = (taskQueue: string): string => `renga-rate-limiter/${taskQueue}`;

/** One model call waiting for admission. */
export interface CallRequest {
  /** Unique within the asking worker. */
  id: string;
  family: string;
  /** The job (top-level workflow id) the call is for: waiting calls are served round-robin by job. */
  job: string;
  cost: PerDimension<number>;
  /** The asking worker's RENGA_RATE_LIMITS for this family (the latest asker's wins). */
  override: PerDimension<number | null>;
}

/** What a finished call cost and what the API's headers said. */
export interface SettleReport {
  family: string;
  /** Null for a call the limiter did not admit (a worker's fast path reporting pressure). */
  lease: Lease | null;
  actual: PerDimension<number> | null;
  observation: Observation | null;
}

/**
 * A worker's one exchange in flight: every call it has waiting (calls the limiter does not know yet
 * are queued; this heals a limiter that lost its queue). Temporal admits only a few Updates in flight
 * per workflow, so a worker batches all its waiting calls into one instead of one per call.
 */
export interface ExchangeRequest {
  worker: string;
  requests: CallRequest[];
}

/** What a worker tells the limiter without waiting: new calls, withdrawn (cancelled) ones, finished calls' reports. */
export interface NoticeBatch {
  worker: string;
  add: CallRequest[];
  withdraw: string[];
  reports: SettleReport[];
}

/** Leases granted since the worker's last exchange, by call id (empty: ask again). */
export interface ExchangeResult {
  leases: Record<string, Lease>;
}

export interface LimiterFamilyState {
  limits: PerDimension<number | null>;
  remaining: PerDimension<number | null>;
  pace: number;
  pausedForMs: number;
  rateLimited: number;
  waiting: number;
}

export interface LimiterState {
  families: Record<string, LimiterFamilyState>;
  /** Calls waiting for admission, by job. */
  waitingByJob: Record<string, number>;
  workers: number;
}

export interface LimiterInput {
  books?: Record<string, FamilyBook>;
  /** Waiting calls per family in round-robin order (worker, request). */
  queues?: Record<string, { worker: string; req: CallRequest }[]>;
  /** Leases granted but not yet collected, by worker then call id. */
  granted?: Record<string, Record<string, Lease>>;
}

export const exchangeUpdate = defineUpdate<ExchangeResult, [ExchangeRequest]>('exchange');
/** Batched per worker; a Signal, so it never waits behind a held exchange. */
export const noticeSignal = defineSignal<[NoticeBatch]>('notice');
export const limiterStateQuery = defineQuery<LimiterState>('state');
