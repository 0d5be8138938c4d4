/**
 * The account's rate limits, as the real API applies them: one token bucket per model family
 * (haiku, sonnet, opus) and dimension (requests, input tokens, output tokens per minute), refilled
 * continuously. A request is admitted when every bucket holds its cost — input tokens without
 * cache reads, output tokens estimated at `max_tokens` and corrected when the answer ends — and is
 * otherwise refused with 429 and `retry-after`. Every answer carries the
 * `anthropic-ratelimit-{requests,input-tokens,output-tokens}-{limit,remaining,reset}` headers.
 *
 * Besides the real buckets, a "shadow" bucket per family also charges the requests that were
 * refused: its lowest level says how far clients ran ahead of the limit's pace (0: never).
 */
import { z } from 'zod';
import { rateLimitHeaders, type ApiErrorSpec } from './errors';

export const FamilyLimitsSchema = z.strictObject({
  rpm: z.number().positive().optional(),
  itpm: z.number().positive().optional(),
  otpm: z.number().positive().optional(),
});
export const RateLimitConfigSchema = z.strictObject({
  /** Per model family (`haiku`, `sonnet`, `opus`, or a full model id). Families not listed are unlimited. */
  families: z.record(z.string().min(1), FamilyLimitsSchema),
  /**
   * Seconds of refill a full bucket holds (default 60: up to the whole per-minute limit at once).
   * Smaller values model the API enforcing its limits over shorter intervals.
   */
  burstSeconds: z.number().positive().max(60).optional(),
});
export type FamilyLimits = z.infer<typeof FamilyLimitsSchema>;
export type RateLimitConfig = z.infer<typeof RateLimitConfigSchema>;

const DIMS = ['requests', 'input-tokens', 'output-tokens'] as const;
type Dim = (typeof DIMS)[number];
const CONFIG_KEY: Record<Dim, keyof FamilyLimits> = {
  requests: 'rpm',
  'input-tokens': 'itpm',
  'output-tokens': 'otpm',
};

export function modelFamily(model: string): string {
  return /haiku|sonnet|opus/i.exec(model)?.[0].toLowerCase() ?? model;
}

interface Bucket {
  limit: number;
  capacity: number;
  level: number;
  at: number;
}

interface FamilyBuckets {
  buckets: Partial<Record<Dim, Bucket>>;
  /** Requests bucket that is charged for refused requests too. */
  shadow: Bucket | null;
  admitted: number;
  refused: number;
  shadowMin: number;
}

export interface FamilyAccounting {
  limits: FamilyLimits;
  admitted: number;
  refused: number;
  /** Lowest level of the shadow requests bucket (negative: requests arrived faster than the limit allows). */
  shadowMin: number | null;
  remaining: Partial<Record<Dim, number>>;
}

export type Admission =
  | {
      ok: true;
      headers: Record<string, string>;
      /** Level of the shadow requests bucket after this request, when requests are limited. */
      shadow: number | null;
      /** Give back the part of the `max_tokens` estimate the answer did not use. */
      settle(outputTokens: number): void;
    }
  | { ok: false; error: ApiErrorSpec; shadow: number | null };

function refill(b: Bucket, now: number): void {
  b.level = Math.min(b.capacity, b.level + ((now - b.at) * b.limit) / 60_000);
  b.at = now;
}

const isoSeconds = (ms: number): string =>
  new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class RateLimits {
  private config: RateLimitConfig = { families: {} };
  private state = new Map<string, FamilyBuckets>();

  constructor(
    config: RateLimitConfig | undefined,
    private readonly now: () => number = Date.now,
  ) {
    if (config) this.configure(config);
  }

  /** Replaces the limits. A family's buckets keep their fill (capped at the new capacity), like an account whose tier changes. */
  configure(config: RateLimitConfig): void {
    const now = this.now();
    const burst = (config.burstSeconds ?? 60) / 60;
    const next = new Map<string, FamilyBuckets>();
    for (const [family, limits] of Object.entries(config.families)) {
      const old = this.state.get(family);
      const fb: FamilyBuckets = old ?? { buckets: {}, shadow: null, admitted: 0, refused: 0, shadowMin: Infinity };
      const buckets: FamilyBuckets['buckets'] = {};
      for (const dim of DIMS) {
        const limit = limits[CONFIG_KEY[dim]];
        if (limit === undefined) continue;
        const capacity = Math.max(1, limit * burst);
        const prev = fb.buckets[dim];
        if (prev) refill(prev, now);
        buckets[dim] = { limit, capacity, level: Math.min(capacity, prev?.level ?? capacity), at: now };
      }
      fb.buckets = buckets;
      if (buckets.requests) {
        if (fb.shadow) refill(fb.shadow, now);
        fb.shadow = { ...buckets.requests, level: Math.min(buckets.requests.capacity, fb.shadow?.level ?? Infinity) };
      } else {
        fb.shadow = null;
      }
      next.set(family, fb);
    }
    this.config = config;
    this.state = next;
  }

  getConfig(): RateLimitConfig {
    return this.config;
  }

  accounting(): Record<string, FamilyAccounting> {
    const now = this.now();
    const out: Record<string, FamilyAccounting> = {};
    for (const [family, fb] of this.state) {
      const remaining: FamilyAccounting['remaining'] = {};
      for (const dim of DIMS) {
        const b = fb.buckets[dim];
        if (!b) continue;
        refill(b, now);
        remaining[dim] = Math.floor(b.level);
      }
      out[family] = {
        limits: this.config.families[family] ?? {},
        admitted: fb.admitted,
        refused: fb.refused,
        shadowMin: Number.isFinite(fb.shadowMin) ? fb.shadowMin : null,
        remaining,
      };
    }
    return out;
  }

  /** Charges one Messages request against its family's buckets, or refuses it. */
  admit(model: string, inputTokens: number, maxTokens: number): Admission {
    const family = modelFamily(model);
    const fb = this.state.get(family) ?? this.state.get(model);
    const now = this.now();
    if (!fb) return { ok: true, headers: rateLimitHeaders(new Date(now), false, 60), shadow: null, settle: () => {} };

    const cost: Record<Dim, number> = { requests: 1, 'input-tokens': inputTokens, 'output-tokens': maxTokens };
    let shadow: number | null = null;
    if (fb.shadow) {
      refill(fb.shadow, now);
      fb.shadow.level -= 1;
      shadow = fb.shadow.level;
      fb.shadowMin = Math.min(fb.shadowMin, shadow);
    }
    let waitMs = 0;
    let exceeded: Dim | null = null;
    for (const dim of DIMS) {
      const b = fb.buckets[dim];
      if (!b) continue;
      refill(b, now);
      // A request larger than the whole bucket passes when the bucket is full, as it would on the API.
      const need = Math.min(cost[dim], b.capacity);
      if (b.level < need) {
        const ms = ((need - b.level) * 60_000) / b.limit;
        if (ms > waitMs) [waitMs, exceeded] = [ms, dim];
      }
    }
    if (exceeded) {
      fb.refused += 1;
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      const limit = fb.buckets[exceeded]!.limit;
      return {
        ok: false,
        shadow,
        error: {
          status: 429,
          type: 'rate_limit_error',
          message:
            `This request would exceed the rate limit for your organization of ${limit.toLocaleString('en-US')} ` +
            `${exceeded.replace('-', ' ')} per minute for ${family}. For details, refer to: https://docs.claude.com/en/api/rate-limits.`,
          headers: { 'retry-after': String(retryAfter), 'x-should-retry': 'true', ...this.headers(fb, now) },
        },
      };
    }
    for (const dim of DIMS) {
      const b = fb.buckets[dim];
      if (b) b.level -= cost[dim];
    }
    fb.admitted += 1;
    const headers = this.headers(fb, now);
    let settled = false;
    return {
      ok: true,
      headers,
      shadow,
      settle: (outputTokens) => {
        const b = fb.buckets['output-tokens'];
        if (settled || !b) return;
        settled = true;
        refill(b, this.now());
        b.level = Math.min(b.capacity, b.level + Math.max(0, maxTokens - outputTokens));
      },
    };
  }

  private headers(fb: FamilyBuckets, now: number): Record<string, string> {
    const out = rateLimitHeaders(new Date(now), false, 60);
    for (const dim of DIMS) {
      const b = fb.buckets[dim];
      if (!b) continue;
      const remaining = Math.max(0, Math.floor(b.level));
      out[`anthropic-ratelimit-${dim}-limit`] = String(b.limit);
      out[`anthropic-ratelimit-${dim}-remaining`] = String(remaining);
      // When the bucket will be full again.
      out[`anthropic-ratelimit-${dim}-reset`] = isoSeconds(
        now + ((b.capacity - Math.max(0, b.level)) * 60_000) / b.limit,
      );
    }
    return out;
  }
}
