import type { FaultConfig, FaultKind, ScriptedFault } from './types';

/** mulberry32: tiny, fast and fully determined by its 32-bit seed, which is all a fault schedule needs. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultRequestContext {
  model: string;
  stream: boolean;
  lastUserText: string;
  /** From `x-renga-workflow-id`; a scripted fault can be aimed at one job's calls. */
  workflowId?: string | null;
}

export interface FaultDecision {
  kind: FaultKind;
  retryAfterSeconds: number;
  scripted: boolean;
}

const STREAM_ONLY: ReadonlySet<FaultKind> = new Set<FaultKind>(['streamError', 'stall']);

// Fixed order so that one uniform draw maps to the same fault for the same seed, whatever rates are set.
const RANDOM_ORDER = ['reset', 'rateLimit', 'overloaded', 'server', 'streamError', 'stall'] as const;

export class FaultPlanner {
  private rng: () => number;
  private config: FaultConfig;
  private readonly queue: Array<ScriptedFault & { remaining: number }> = [];

  constructor(seed: number, config: FaultConfig = {}) {
    this.rng = mulberry32(seed);
    this.config = { ...config };
  }

  reseed(seed: number): void {
    this.rng = mulberry32(seed);
  }

  setConfig(config: FaultConfig): void {
    this.config = { ...config };
  }

  getConfig(): FaultConfig {
    return { ...this.config };
  }

  enqueue(faults: ScriptedFault[]): void {
    for (const f of faults) {
      const times = f.times ?? 1;
      if (times > 0) this.queue.push({ ...f, remaining: times });
    }
  }

  pendingScripted(): number {
    return this.queue.length;
  }

  clearScript(): void {
    this.queue.length = 0;
  }

  decide(ctx: FaultRequestContext): FaultDecision | null {
    const scripted = this.takeScripted(ctx);
    if (scripted) return scripted;
    return this.drawRandom(ctx);
  }

  private takeScripted(ctx: FaultRequestContext): FaultDecision | null {
    const idx = this.queue.findIndex((f) => {
      if (STREAM_ONLY.has(f.kind) && !ctx.stream) return false;
      if (f.match?.model !== undefined && f.match.model !== ctx.model) return false;
      if (f.match?.textIncludes !== undefined && !ctx.lastUserText.includes(f.match.textIncludes)) return false;
      if (f.match?.workflowId !== undefined && f.match.workflowId !== ctx.workflowId) return false;
      return true;
    });
    if (idx < 0) return null;
    const entry = this.queue[idx]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.queue.splice(idx, 1);
    return {
      kind: entry.kind,
      retryAfterSeconds: entry.retryAfterSeconds ?? this.config.retryAfterSeconds ?? 1,
      scripted: true,
    };
  }

  private drawRandom(ctx: FaultRequestContext): FaultDecision | null {
    const only = this.config.onlyModels;
    if (only && !only.includes(ctx.model)) return null;
    // Exactly one draw per eligible request keeps the sequence a function of the seed and the request count.
    const u = this.rng();
    let acc = 0;
    for (const kind of RANDOM_ORDER) {
      if (STREAM_ONLY.has(kind) && !ctx.stream) continue;
      const p = clamp01(this.config[kind] ?? 0);
      if (p <= 0) continue;
      acc += p;
      if (u < acc) {
        return { kind, retryAfterSeconds: this.config.retryAfterSeconds ?? 1, scripted: false };
      }
    }
    return null;
  }
}

function clamp01(p: number): number {
  if (!Number.isFinite(p)) return 0;
  return Math.min(1, Math.max(0, p));
}
