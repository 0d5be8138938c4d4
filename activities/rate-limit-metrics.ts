/**
 * Prometheus metrics of admission (activities/admission.ts), on prom-client's default registry so
 * they are served with the rest of renga's worker metrics.
 */
import { Counter, Gauge } from 'prom-client';

export const rateLimitRemaining = new Gauge({
  name: 'renga_rate_limit_remaining',
  help: 'Capacity left per model family and dimension (requests, input_tokens, output_tokens), as this worker believes it from the API headers',
  labelNames: ['family', 'dimension'] as const,
});

export const rateLimitLimit = new Gauge({
  name: 'renga_rate_limit_limit',
  help: 'Per-minute limit per model family and dimension, learned from the API headers or set by RENGA_RATE_LIMITS',
  labelNames: ['family', 'dimension'] as const,
});

export const rateLimitWaiting = new Gauge({
  name: 'renga_rate_limit_waiting_calls',
  help: 'Model calls of this worker waiting for admission under the rate limit',
  labelNames: ['family'] as const,
});

export const rateLimited = new Counter({
  name: 'renga_rate_limited_total',
  help: 'HTTP 429 (rate limited) responses from the Messages API',
  labelNames: ['family'] as const,
});
