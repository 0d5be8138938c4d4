/**
 * One price table for every cost figure renga reports. Prices are USD per million tokens.
 * Cache writes cost 1.25× input (5-minute TTL), cache reads 0.1×; Message Batches halve everything.
 */
import type { TokenUsage } from './schemas';

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/** Matched by longest prefix so dated snapshots (claude-haiku-4-5-20251001) price like their alias. */
const PRICES: ReadonlyArray<readonly [prefix: string, price: ModelPrice]> = [
  ['claude-haiku-4-5', { inputPerMTok: 1, outputPerMTok: 5 }],
  ['claude-haiku-3-5', { inputPerMTok: 0.8, outputPerMTok: 4 }],
  ['claude-sonnet-4', { inputPerMTok: 3, outputPerMTok: 15 }],
  ['claude-sonnet-3-7', { inputPerMTok: 3, outputPerMTok: 15 }],
  ['claude-opus-4-5', { inputPerMTok: 5, outputPerMTok: 25 }],
  ['claude-opus-4-6', { inputPerMTok: 5, outputPerMTok: 25 }],
  ['claude-opus-4', { inputPerMTok: 15, outputPerMTok: 75 }],
];

export const CACHE_WRITE_MULTIPLIER = 1.25;
export const CACHE_READ_MULTIPLIER = 0.1;
export const BATCH_DISCOUNT = 0.5;

export function priceFor(model: string): ModelPrice | null {
  let best: readonly [string, ModelPrice] | null = null;
  for (const entry of PRICES) {
    if (model.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best ? best[1] : null;
}

/**
 * Cost of one call. A model missing from the table costs 0 rather than failing a finished call:
 * the tokens are still reported, so the bill can be recomputed.
 */
export function costUsd(model: string, usage: TokenUsage, opts: { batch?: boolean } = {}): number {
  const price = priceFor(model);
  if (!price) return 0;
  const perTok = (perM: number) => perM / 1_000_000;
  const cost =
    usage.inputTokens * perTok(price.inputPerMTok) +
    usage.cacheWriteTokens * perTok(price.inputPerMTok) * CACHE_WRITE_MULTIPLIER +
    usage.cacheReadTokens * perTok(price.inputPerMTok) * CACHE_READ_MULTIPLIER +
    usage.outputTokens * perTok(price.outputPerMTok);
  return roundUsd(opts.batch ? cost * BATCH_DISCOUNT : cost);
}

/** Micro-dollar rounding keeps sums stable and the JSON readable. */
export function roundUsd(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export const ZERO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

/**
 * What a model can take and when it caches, by longest prefix like the prices. The cache minimum is
 * the shortest prefix the API caches at all (below it a cache marker is ignored and nothing is
 * written); a context window bounds input plus output.
 */
export interface ModelLimits {
  contextWindow: number;
  cacheMinTokens: number;
}
const LIMITS: ReadonlyArray<readonly [prefix: string, limits: ModelLimits]> = [
  ['claude-haiku-4-5', { contextWindow: 200_000, cacheMinTokens: 4_096 }],
  ['claude-haiku', { contextWindow: 200_000, cacheMinTokens: 2_048 }],
  ['claude-sonnet', { contextWindow: 200_000, cacheMinTokens: 1_024 }],
  ['claude-opus-4-5', { contextWindow: 200_000, cacheMinTokens: 4_096 }],
  ['claude-opus-4-6', { contextWindow: 200_000, cacheMinTokens: 4_096 }],
  ['claude-opus', { contextWindow: 200_000, cacheMinTokens: 1_024 }],
];
const DEFAULT_LIMITS: ModelLimits = { contextWindow: 200_000, cacheMinTokens: 1_024 };

export function limitsFor(model: string): ModelLimits {
  let best: readonly [string, ModelLimits] | null = null;
  for (const entry of LIMITS) {
    if (model.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best ? best[1] : DEFAULT_LIMITS;
}

/**
 * The most one call can cost before it starts: every input token written to the cache (1.25×, the
 * dearest way to pay for input) and every allowed output token produced. A model missing from the
 * price table is priced as the dearest known one, so an unknown model can never slip past a budget.
 */
export function worstCaseUsd(model: string, c: { inputTokens: number; maxOutputTokens: number }): number {
  const price = priceFor(model) ?? DEAREST;
  const cost =
    (c.inputTokens * price.inputPerMTok * CACHE_WRITE_MULTIPLIER + c.maxOutputTokens * price.outputPerMTok) / 1_000_000;
  // Rounded up so micro-dollar rounding of the actual cost can never exceed it.
  return Math.ceil(cost * 1e6) / 1e6;
}
const DEAREST: ModelPrice = {
  inputPerMTok: Math.max(...PRICES.map(([, p]) => p.inputPerMTok)),
  outputPerMTok: Math.max(...PRICES.map(([, p]) => p.outputPerMTok)),
};

/** Input tokens of text that has not been counted: generous (one per 3 UTF-16 units, plus framing) so the estimate stays an upper bound. */
export function estimateInputTokens(chars: number): number {
  return Math.ceil(chars / 3) + 32;
}
