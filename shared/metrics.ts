/**
 * renga's own Prometheus metrics (prom-client): what models were called, what they cost, how jobs
 * and subtasks ended. One registry per process; the worker serves it beside the Temporal runtime's
 * metrics on RENGA_METRICS_ADDRESS (worker/metrics-server.ts).
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { CallUsage } from './schemas';

export const registry = new Registry();

export const modelCalls = new Counter({
  name: 'renga_model_calls_total',
  help: 'Model calls by the model asked for and their outcome: ok, or the failure type (RateLimited, Overloaded, …).',
  labelNames: ['model', 'outcome'] as const,
  registers: [registry],
});

export const modelTokens = new Counter({
  name: 'renga_model_tokens_total',
  help: 'Tokens of answered model calls by model and kind: input (uncached), output, cache_read, cache_write.',
  labelNames: ['model', 'kind'] as const,
  registers: [registry],
});

export const costUsd = new Counter({
  name: 'renga_cost_usd_total',
  help: 'Cost of answered model calls in US dollars, from renga’s price table (shared/pricing.ts).',
  labelNames: ['model'] as const,
  registers: [registry],
});

export const modelCallSeconds = new Histogram({
  name: 'renga_model_call_seconds',
  help: 'Duration of one model call (request to last streamed event), answered or not.',
  labelNames: ['model', 'outcome'] as const,
  // Model calls run from well under a second (short Haiku answers) to minutes (long plans).
  buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
  registers: [registry],
});

export const subtasks = new Counter({
  name: 'renga_subtasks_total',
  help: 'Subtasks of ended jobs by final status: completed, failed, skipped.',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const jobs = new Counter({
  name: 'renga_jobs_total',
  help: 'Ended jobs by status: completed, partial, failed, cancelled.',
  labelNames: ['status'] as const,
  registers: [registry],
});

/** Every metric name above, for checks that dashboards query only what exists. */
export const RENGA_METRIC_NAMES: readonly string[] = [
  'renga_model_calls_total',
  'renga_model_tokens_total',
  'renga_cost_usd_total',
  'renga_model_call_seconds',
  'renga_subtasks_total',
  'renga_jobs_total',
  // Rate-limit admission (activities/rate-limit-metrics.ts).
  'renga_rate_limit_remaining',
  'renga_rate_limit_limit',
  'renga_rate_limit_waiting_calls',
  'renga_rate_limited_total',
];

/** Counts one model call; tokens and cost only for answered calls (a failed call reports none). */
export function recordModelCall(requestModel: string, outcome: string, seconds: number, answered?: CallUsage): void {
  const model = answered?.model ?? requestModel;
  modelCalls.inc({ model, outcome });
  modelCallSeconds.observe({ model, outcome }, seconds);
  if (!answered) return;
  const u = answered.usage;
  modelTokens.inc({ model, kind: 'input' }, u.inputTokens);
  modelTokens.inc({ model, kind: 'output' }, u.outputTokens);
  modelTokens.inc({ model, kind: 'cache_read' }, u.cacheReadTokens);
  modelTokens.inc({ model, kind: 'cache_write' }, u.cacheWriteTokens);
  costUsd.inc({ model }, answered.costUsd);
}

export function recordJobEnded(status: string, counts: { completed: number; failed: number; skipped: number }): void {
  jobs.inc({ status });
  subtasks.inc({ status: 'completed' }, counts.completed);
  subtasks.inc({ status: 'failed' }, counts.failed);
  subtasks.inc({ status: 'skipped' }, counts.skipped);
}
