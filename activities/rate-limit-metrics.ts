/**
 * Prometheus metrics of admission (activities/admission.ts), on renga's registry (shared/metrics.ts)
 * so the worker's /metrics serves them with the rest.
 */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../shared/metrics';

export const rateLimitRemaining = new Gauge({
  name: 'renga_rate_limit_remaining',
  help: 'Capacity left per model family and dimension (requests, input_tokens, output_tokens), as this worker believes it from the API headers',
  labelNames: ['family', 'dimension'] as const,
  registers: [registry],
});

export const rateLimitLimit = new Gauge({
  name: 'renga_rate_limit_limit',
  help: 'Per-minute limit per model family and dimension, learned from the API headers or set by RENGA_RATE_LIMITS',
  labelNames: ['family', 'dimension'] as const,
  registers: [registry],
});

export const rateLimitWaiting = new Gauge({
  name: 'renga_rate_limit_waiting_calls',
  help: 'Model calls of this worker waiting for admission under the rate limit',
  labelNames: ['family'] as const,
  registers: [registry],
});

export const rateLimited = new Counter({
  name: 'renga_rate_limited_total',
  help: 'HTTP 429 (rate limited) responses from the Messages API',
  labelNames: ['family'] as const,
  registers: [registry],
});

// A labelled counter has no series until its first increment, so a dashboard's rate() would miss the
// first 429 of a family and a panel would show "no data" rather than zero: start each family at 0.
for (const family of ['haiku', 'sonnet', 'opus']) rateLimited.labels({ family }).inc(0);
