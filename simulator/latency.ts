/**
 * How fast the simulated models answer. Tests default to zero (speed is not what they check);
 * `npm run dev` uses REALISTIC_LATENCY so the demo looks like the real service: the planner
 * (Sonnet) takes a moment to start and streams slowly, the Haiku sub-agents start quickly and stream
 * fast, and the parallel fan-out is visible in the live view and the Web UI's timeline.
 */
import { DEFAULT_MODELS } from './types';

/** A value for every model, or per model id with `'*'` as the fallback. */
export type PerModel = number | Record<string, number>;

export function forModel(value: PerModel, model: string): number {
  if (typeof value === 'number') return value;
  return value[model] ?? value['*'] ?? 0;
}

/**
 * Time to first token and the pause between streamed deltas (~20 characters, ~5 tokens each), by
 * model family. Rough public figures for the real models: Haiku 4.5 starts in about half a second
 * and streams ~120 tokens/s; Sonnet 4.x about 1.5 s and ~60 tokens/s; Opus slower still.
 */
const FAMILY = {
  haiku: { firstTokenMs: 500, perDeltaMs: 40 },
  sonnet: { firstTokenMs: 1_500, perDeltaMs: 80 },
  opus: { firstTokenMs: 2_500, perDeltaMs: 120 },
} as const;

function byFamily(pick: (f: (typeof FAMILY)[keyof typeof FAMILY]) => number): Record<string, number> {
  const out: Record<string, number> = { '*': pick(FAMILY.sonnet) };
  for (const model of DEFAULT_MODELS) {
    const family = (Object.keys(FAMILY) as (keyof typeof FAMILY)[]).find((f) => model.includes(f));
    if (family) out[model] = pick(FAMILY[family]);
  }
  return out;
}

export const REALISTIC_LATENCY: { latencyMs: Record<string, number>; streamChunkDelayMs: Record<string, number> } = {
  latencyMs: byFamily((f) => f.firstTokenMs),
  streamChunkDelayMs: byFamily((f) => f.perDeltaMs),
};
