/**
 * What renga knows about the API's rate limits, per model family, and the admission arithmetic on
 * top of it. Pure and deterministic (time is passed in), so the same code runs in the shared
 * limiter workflow (workflows/rate-limiter.ts) and in each worker's local fallback
 * (activities/admission.ts).
 *
 * The API refills one token bucket per dimension (requests, input tokens, output tokens per minute)
 * continuously. We mirror it: limits come from `anthropic-ratelimit-*-limit`, the bucket size from
 * the highest `remaining` seen (plus what that call itself cost), the level is synced down to what
 * `remaining` says (adjusted for what was granted since), and a call is admitted when every bucket
 * holds its estimate (requests 1, input tokens, `max_tokens`); the actual usage is refunded after.
 * A 429 halves the pace (refill speed) and pauses the family for `retry-after`; every answer that
 * shows room grows the pace back (AIMD).
 */
import type { RateLimitsSetting } from './rate-limits-setting';

export const DIMENSIONS = ['requests', 'inputTokens', 'outputTokens'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type PerDimension<T> = Record<Dimension, T>;

/** The API's limits are per model class: claude-haiku-4-5 and claude-haiku-4-5-20251001 share one. */
export function modelFamily(model: string): string {
  return /haiku|sonnet|opus/i.exec(model)?.[0].toLowerCase() ?? model;
}

// ---------------------------------------------------------------------------------------------
// RENGA_RATE_LIMITS: optional explicit limits per family, or "off" (no admission at all). Its zod
// schema lives in rate-limits-setting.ts: this module runs in every workflow run (the limiter
// workflow), and each run evaluates what it imports afresh, so it imports no zod (architecture.md).

export type { FamilyLimits, RateLimitsSetting } from './rate-limits-setting';

export function overrideFor(setting: RateLimitsSetting | undefined, family: string): PerDimension<number | null> {
  const l = setting && setting !== 'off' ? setting[family] : undefined;
  return { requests: l?.rpm ?? null, inputTokens: l?.itpm ?? null, outputTokens: l?.otpm ?? null };
}

// ---------------------------------------------------------------------------------------------

/** What one answer's headers said (null: header absent). */
export interface Observation {
  limit: PerDimension<number | null>;
  remaining: PerDimension<number | null>;
  /** A 429: how long the API asked us to wait. */
  retryAfterMs: number | null;
  rateLimited: boolean;
}

/** One admitted call: what it was charged and the book's counters at that moment (to sync later observations). */
export interface Lease {
  family: string;
  at: number;
  cost: PerDimension<number>;
  spent: PerDimension<number>;
  refunded: PerDimension<number>;
}

/** Plain data (it travels through continue-as-new). */
export interface FamilyBook {
  learned: PerDimension<number | null>;
  override: PerDimension<number | null>;
  capacity: PerDimension<number | null>;
  level: PerDimension<number>;
  at: number;
  pace: number;
  pausedUntil: number;
  spent: PerDimension<number>;
  refunded: PerDimension<number>;
  /** Limits unknown: one call at a time until its headers tell us (the time it went out). */
  probeAt: number | null;
  rateLimited: number;
}

export const MIN_PACE = 0.1;
const PACE_STEP = 0.1;
/** A probe whose answer never arrives (worker died) stops blocking the family after this long. */
const PROBE_TIMEOUT_MS = 30_000;
/** The fast path (no shared limiter) is taken only while this share of every bucket is free. */
const AMPLE_SHARE = 0.5;
const FULL = Number.MAX_SAFE_INTEGER;
/**
 * Admission keeps this much refill time in reserve: calls reach the API a little earlier or later
 * than they were admitted, and one that arrives early at an empty bucket is a 429.
 */
const RESERVE_MS = 300;

const per = <T>(f: (d: Dimension) => T): PerDimension<T> => ({
  requests: f('requests'),
  inputTokens: f('inputTokens'),
  outputTokens: f('outputTokens'),
});

export function newFamilyBook(now: number, override: PerDimension<number | null>): FamilyBook {
  return {
    learned: per(() => null),
    override,
    capacity: per(() => null),
    level: per(() => FULL),
    at: now,
    pace: 1,
    pausedUntil: 0,
    spent: per(() => 0),
    refunded: per(() => 0),
    probeAt: null,
    rateLimited: 0,
  };
}

export const limitOf = (b: FamilyBook, d: Dimension): number | null => b.override[d] ?? b.learned[d];
export const isKnown = (b: FamilyBook): boolean => DIMENSIONS.some((d) => limitOf(b, d) !== null);

function capacityOf(b: FamilyBook, d: Dimension): number | null {
  const limit = limitOf(b, d);
  if (limit === null) return null;
  return Math.min(limit, b.capacity[d] ?? limit);
}

/** Per millisecond, at the current pace. */
const rateOf = (b: FamilyBook, d: Dimension): number => ((limitOf(b, d) ?? 0) / 60_000) * b.pace;

export function refill(b: FamilyBook, now: number): void {
  const dt = Math.max(0, now - b.at);
  for (const d of DIMENSIONS) {
    const cap = capacityOf(b, d);
    if (cap !== null) b.level[d] = Math.min(cap, b.level[d] + dt * rateOf(b, d));
  }
  b.at = Math.max(b.at, now);
}

/** Milliseconds until a call of this cost may start (0: now). */
export function waitMs(b: FamilyBook, cost: PerDimension<number>, now: number): number {
  refill(b, now);
  if (now < b.pausedUntil) return b.pausedUntil - now;
  if (!isKnown(b)) {
    if (b.probeAt === null || now - b.probeAt > PROBE_TIMEOUT_MS) return 0;
    return b.probeAt + PROBE_TIMEOUT_MS - now;
  }
  let wait = 0;
  for (const d of DIMENSIONS) {
    const cap = capacityOf(b, d);
    if (cap === null) continue;
    // A call larger than the whole bucket may go when the bucket is full (the API does the same).
    const reserve = Math.min(cap / 4, ((limitOf(b, d) ?? 0) / 60_000) * RESERVE_MS);
    const need = Math.min(cost[d] + reserve, cap);
    if (b.level[d] < need) wait = Math.max(wait, (need - b.level[d]) / Math.max(rateOf(b, d), 1e-9));
  }
  return Math.ceil(wait);
}

/** Charges a call that `waitMs` allowed. */
export function grant(b: FamilyBook, family: string, cost: PerDimension<number>, now: number): Lease {
  refill(b, now);
  if (!isKnown(b)) b.probeAt = now;
  for (const d of DIMENSIONS) {
    b.level[d] -= cost[d];
    b.spent[d] += cost[d];
  }
  return { family, at: now, cost, spent: { ...b.spent }, refunded: { ...b.refunded } };
}

/** True when the latest headers leave so much room that a worker need not ask the shared limiter. */
export function isAmple(b: FamilyBook, cost: PerDimension<number>, now: number): boolean {
  refill(b, now);
  if (!isKnown(b) || b.pace < 1 || now < b.pausedUntil) return false;
  return DIMENSIONS.every((d) => {
    const cap = capacityOf(b, d);
    return cap === null || b.level[d] - cost[d] >= cap * AMPLE_SHARE;
  });
}

/**
 * After a call: refund what its estimate overcharged, then learn from its headers. `lease` is null
 * for calls this book did not admit (their observation is applied without adjustment).
 */
export function settle(
  b: FamilyBook,
  lease: Lease | null,
  actual: PerDimension<number> | null,
  obs: Observation | null,
  now: number,
): void {
  refill(b, now);
  if (lease && lease.at >= (b.probeAt ?? Infinity)) b.probeAt = null;
  if (lease && actual) {
    for (const d of ['inputTokens', 'outputTokens'] as const) {
      const delta = lease.cost[d] - actual[d];
      b.level[d] = Math.min(capacityOf(b, d) ?? FULL, b.level[d] + delta);
      b.refunded[d] += delta;
    }
  }
  if (obs) observe(b, lease, obs, now);
}

function observe(b: FamilyBook, lease: Lease | null, obs: Observation, now: number): void {
  let room = true;
  for (const d of DIMENSIONS) {
    const limit = obs.limit[d];
    if (limit !== null && limit !== b.learned[d]) {
      // A new tier (or the first answer): learn the bucket size again.
      b.learned[d] = limit;
      b.capacity[d] = null;
    }
    const remaining = obs.remaining[d];
    if (remaining === null) continue;
    const charged = lease && !obs.rateLimited ? lease.cost[d] : 0;
    const cap = limitOf(b, d);
    if (cap !== null) b.capacity[d] = Math.min(cap, Math.max(b.capacity[d] ?? 0, remaining + charged, 1));
    // What the API said, moved forward to now: refilled since, minus what we granted since, plus refunds since.
    const adjusted = lease
      ? remaining +
        (now - lease.at) * ((limitOf(b, d) ?? 0) / 60_000) -
        (b.spent[d] - lease.spent[d]) +
        (b.refunded[d] - lease.refunded[d])
      : remaining;
    b.level[d] = Math.min(b.level[d], adjusted, capacityOf(b, d) ?? FULL);
    if (remaining < (lease?.cost[d] ?? 1)) room = false;
  }
  if (obs.rateLimited) {
    b.rateLimited += 1;
    b.pace = Math.max(MIN_PACE, b.pace / 2);
    b.pausedUntil = Math.max(b.pausedUntil, now + (obs.retryAfterMs ?? 1_000));
  } else if (room) {
    b.pace = Math.min(1, b.pace + PACE_STEP);
  }
}

/** Remaining capacity as we believe it now, for gauges and status. */
export function remainingOf(b: FamilyBook, now: number): PerDimension<number | null> {
  refill(b, now);
  return per((d) => (capacityOf(b, d) === null ? null : Math.max(0, Math.floor(b.level[d]))));
}
