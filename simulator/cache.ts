/**
 * Prompt caching as the Messages API does it, closely enough to measure what caching saves:
 * a request's prefix (tools, then system, then messages, block by block) is cut at each block that
 * carries `cache_control`; a prefix is cached per model, keyed by the hash of everything up to its
 * breakpoint, for a TTL that each read renews. A prefix shorter than the model's minimum is never
 * cached. A write becomes readable once its response has finished, so C calls started together
 * each pay for their own write, as they do on the service.
 */
import { createHash } from 'node:crypto';
import { tokensForChars } from './generate';

/** The shortest cacheable prefix, in tokens, by model prefix (longest match wins). */
const MIN_TOKENS: ReadonlyArray<readonly [string, number]> = [
  ['claude-haiku-4-5', 4_096],
  ['claude-haiku', 2_048],
  ['claude-sonnet', 1_024],
  ['claude-opus-4-5', 4_096],
  ['claude-opus-4-6', 4_096],
  ['claude-opus', 1_024],
];
const DEFAULT_TTL_MS = 5 * 60_000;
/** The service looks back this many blocks from a breakpoint for an earlier cached prefix. */
const LOOKBACK_BLOCKS = 20;

export function cacheMinTokens(model: string): number {
  let best: readonly [string, number] | null = null;
  for (const e of MIN_TOKENS) if (model.startsWith(e[0]) && (!best || e[0].length > best[0].length)) best = e;
  return best ? best[1] : 1_024;
}

/** One place a prefix could be cached: after the block at `block` (0-based over the whole request). */
export interface CheckPoint {
  block: number;
  /** Characters of the prefix up to and including this block. */
  chars: number;
  hash: string;
  /** Whether this block carries `cache_control` (a write happens only at a breakpoint). */
  breakpoint: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function blockChars(b: unknown): number {
  if (typeof b === 'string') return b.length;
  if (!isObj(b)) return 0;
  if (b.type === 'text' && typeof b.text === 'string') return b.text.length;
  if (b.type === 'tool_use') return JSON.stringify(b.input ?? {}).length + String(b.name ?? '').length;
  if (b.type === 'tool_result') {
    const c = b.content;
    if (typeof c === 'string') return c.length;
    return Array.isArray(c) ? c.reduce((n: number, x) => n + blockChars(x), 0) : 0;
  }
  // A tool definition: what the model reads of it.
  if (typeof b.name === 'string') return JSON.stringify(b).length;
  return 0;
}

/** The request's blocks in cache order, each with a running hash of the prefix it ends. */
export function checkPoints(body: Obj): CheckPoint[] {
  const blocks: unknown[] = [];
  if (Array.isArray(body.tools)) blocks.push(...(body.tools as unknown[]));
  if (typeof body.system === 'string') blocks.push({ type: 'text', text: body.system });
  else if (Array.isArray(body.system)) blocks.push(...(body.system as unknown[]));
  for (const m of Array.isArray(body.messages) ? (body.messages as unknown[]) : []) {
    if (!isObj(m)) continue;
    const role = String(m.role);
    if (typeof m.content === 'string') blocks.push({ role, type: 'text', text: m.content });
    else if (Array.isArray(m.content))
      blocks.push(...(m.content as unknown[]).map((b) => (isObj(b) ? { role, ...b } : b)));
  }
  const hash = createHash('sha256');
  const out: CheckPoint[] = [];
  let chars = 0;
  blocks.forEach((b, i) => {
    const { cache_control, ...rest } = isObj(b) ? b : { cache_control: undefined };
    // The marker itself is not content: the same prefix marked or not is the same prefix.
    hash.update(JSON.stringify(isObj(b) ? rest : b));
    chars += blockChars(b);
    out.push({ block: i, chars, hash: hash.copy().digest('hex'), breakpoint: cache_control !== undefined });
  });
  return out;
}

export interface CacheUse {
  /** Tokens read from the cache, written to it, and the rest of the input (input_tokens). */
  read: number;
  written: number;
  uncached: number;
  /** Call after the response has been served: makes the write readable by later requests. */
  commit(): void;
}

export class PromptCache {
  private readonly entries = new Map<string, number>();
  private enabled = true;

  constructor(
    private readonly now: () => number,
    private readonly ttlMs = DEFAULT_TTL_MS,
  ) {}

  setEnabled(on: boolean): void {
    this.enabled = on;
    if (!on) this.entries.clear();
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  clear(): void {
    this.entries.clear();
  }

  /** Splits a request's input tokens into read / written / uncached, as the service reports them. */
  use(model: string, points: CheckPoint[], totalInputTokens: number): CacheUse {
    const none: CacheUse = { read: 0, written: 0, uncached: totalInputTokens, commit: () => undefined };
    if (!this.enabled) return none;
    const breakpoints = points.filter((p) => p.breakpoint);
    const last = breakpoints[breakpoints.length - 1];
    if (!last) return none;
    const now = this.now();
    const key = (p: CheckPoint) => `${model}\u0000${p.hash}`;
    const alive = (p: CheckPoint) => (this.entries.get(key(p)) ?? 0) > now;
    const min = cacheMinTokens(model);

    // The longest cached prefix: at a breakpoint, or within the look-back window before one.
    let hit: CheckPoint | undefined;
    for (const bp of [...breakpoints].reverse()) {
      hit = points
        .filter((p) => p.block <= bp.block && p.block > bp.block - LOOKBACK_BLOCKS)
        .reverse()
        .find(alive);
      if (hit) break;
    }
    const lastTokens = Math.min(totalInputTokens, tokensForChars(last.chars));
    const read = hit ? Math.min(lastTokens, tokensForChars(hit.chars)) : 0;
    if (hit) this.entries.set(key(hit), now + this.ttlMs);
    const writes = lastTokens >= min && (!hit || hit.block < last.block);
    const written = writes ? lastTokens - read : 0;
    return {
      read,
      written,
      uncached: totalInputTokens - read - written,
      commit: () => {
        if (writes) this.entries.set(key(last), this.now() + this.ttlMs);
      },
    };
  }
}
