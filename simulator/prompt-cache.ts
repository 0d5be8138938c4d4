/**
 * Prompt caching as the Messages API accounts it: a request's prefix up to a `cache_control` breakpoint
 * (tools → system → messages, in that order) is written to the cache; a later request whose prefix
 * matches at a block boundary within 20 blocks before one of its breakpoints reads it instead. So the
 * agent loop's moving breakpoint shows `cache_read_input_tokens` growing turn by turn. Entries live
 * 5 minutes, refreshed on each hit; prefixes under the model's minimum are not cached.
 */
import { createHash } from 'node:crypto';
import { tokensForChars } from './generate';

type Obj = Record<string, unknown>;

const TTL_MS = 5 * 60_000;
/** The API looks back this many blocks from a breakpoint for an earlier cached prefix. */
const LOOKBACK_BLOCKS = 20;
const MAX_ENTRIES = 50_000;

/** Minimum cacheable prefix in tokens: Haiku 4.5 needs 4,096; the Sonnet models 1,024. */
function minTokens(model: string): number {
  return /haiku|opus-4-5|opus-4-6/.test(model) ? 4_096 : 1_024;
}

export interface CacheUsage {
  read: number;
  write: number;
}

interface Block {
  key: string;
  /** Characters the token estimate counts (the same basis as the request's input token count). */
  chars: number;
  marked: boolean;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
  return 0;
}

function toBlock(b: unknown, counted: boolean): Block {
  const marked = isObj(b) && b.cache_control !== undefined && b.cache_control !== null;
  const rest = isObj(b) ? Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'cache_control')) : b;
  return { key: JSON.stringify(rest), chars: counted ? blockChars(b) : 0, marked };
}

/** The request's prompt as the cache sees it: tools (not in the token estimate), system, then each message block. */
function blocksOf(body: Obj): Block[] {
  const out: Block[] = [];
  if (Array.isArray(body.tools)) for (const t of body.tools) out.push(toBlock(t, false));
  const sys = body.system;
  if (typeof sys === 'string') out.push(toBlock({ type: 'text', text: sys }, true));
  else if (Array.isArray(sys)) for (const b of sys) out.push(toBlock(b, true));
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (!isObj(m)) continue;
      const role = JSON.stringify(m.role ?? '');
      const content = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
      if (!Array.isArray(content)) continue;
      for (const b of content) {
        const block = toBlock(b, true);
        out.push({ ...block, key: `${role}:${block.key}` });
      }
    }
  }
  return out;
}

export class PromptCache {
  private readonly entries = new Map<string, number>();

  account(body: Obj, model: string, now = Date.now()): CacheUsage {
    const blocks = blocksOf(body);
    const marks = blocks.flatMap((b, i) => (b.marked ? [i] : []));
    if (marks.length === 0) return { read: 0, write: 0 };
    const hashes: string[] = [];
    const chars: number[] = [];
    let h = model;
    let c = 0;
    for (const b of blocks) {
      h = createHash('sha256').update(h).update('\u0000').update(b.key).digest('hex');
      c += b.chars;
      hashes.push(h);
      chars.push(c);
    }
    let hit = -1;
    for (const m of marks) {
      for (let j = m; j >= Math.max(0, m - LOOKBACK_BLOCKS) && j > hit; j--) {
        const expires = this.entries.get(hashes[j]!);
        if (expires !== undefined && expires > now) {
          hit = j;
          break;
        }
      }
    }
    if (hit >= 0) this.entries.set(hashes[hit]!, now + TTL_MS);
    const readChars = hit >= 0 ? chars[hit]! : 0;
    let writeEnd = readChars;
    for (const m of marks) {
      if (m <= hit || tokensForChars(chars[m]!) < minTokens(model)) continue;
      this.remember(hashes[m]!, now);
      writeEnd = Math.max(writeEnd, chars[m]!);
    }
    const read = readChars > 0 ? tokensForChars(readChars) : 0;
    const write = writeEnd > readChars ? tokensForChars(writeEnd) - read : 0;
    return { read, write };
  }

  private remember(hash: string, now: number): void {
    this.entries.delete(hash);
    this.entries.set(hash, now + TTL_MS);
    // Oldest first out: Map keeps insertion order.
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
