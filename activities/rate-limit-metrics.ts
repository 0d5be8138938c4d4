/**
 * Prometheus metrics of admission (activities/admission.ts), on renga's registry (shared/metrics.ts)
 * so the worker's /metrics serves them with the rest.
 */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../shared/metrics';

/** One bucket of a worker's books, as the gauges below publish it. */
export interface BookReading {
  family: string;
  /** requests, input_tokens or output_tokens. */
  dimension: string;
  limit: number | null;
  remaining: number | null;
}

/** What can be read for the gauges: an Admission (a worker has one; tests start several). */
export interface BookSource {
  readings(): BookReading[];
}

// Held weakly: a worker that is gone (in tests, one of many in a process) stops being read.
const sources = new Set<WeakRef<BookSource>>();

/**
 * The gauges read `source`'s books when they are scraped, not on every call: setting six labelled
 * gauges per model call (each hashing its labels) was a measurable part of admission's cost.
 */
export function publishBooks(source: BookSource): void {
  sources.add(new WeakRef(source));
}

function readings(): BookReading[] {
  const out: BookReading[] = [];
  for (const ref of sources) {
    const source = ref.deref();
    if (source) out.push(...source.readings());
    else sources.delete(ref);
  }
  return out;
}

export const rateLimitRemaining = new Gauge({
  name: 'renga_rate_limit_remaining',
  help: 'Capacity left per model family and dimension (requests, input_tokens, output_tokens), as this worker believes it from the API headers',
  labelNames: ['family', 'dimension'] as const,
  registers: [registry],
  collect() {
    for (const r of readings())
      if (r.remaining !== null) this.set({ family: r.family, dimension: r.dimension }, r.remaining);
  },
});

export const rateLimitLimit = new Gauge({
  name: 'renga_rate_limit_limit',
  help: 'Per-minute limit per model family and dimension, learned from the API headers or set by RENGA_RATE_LIMITS',
  labelNames: ['family', 'dimension'] as const,
  registers: [registry],
  collect() {
    for (const r of readings()) if (r.limit !== null) this.set({ family: r.family, dimension: r.dimension }, r.limit);
  },
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
