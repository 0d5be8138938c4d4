/**
 * Benchmark section "rate limits": one job on two worker processes against a simulator whose worker
 * model (haiku) is limited in requests per minute, with admission on (renga's default) and off
 * (RENGA_RATE_LIMITS=off: every call goes at once, 429s are retried by Temporal after retry-after),
 * interleaved in the same run.
 *
 * goodput ÷ limit-implied maximum: the fastest the limit allows N calls is
 * (N − bucket size) ÷ rate (a full bucket lets its size go at once); divided by the fan-out's actual
 * span, from the simulator's first to its last answered haiku call. 429s per 100 calls counts every
 * haiku request the simulator received.
 */
import type { JobInputArg } from '../shared/schemas';
import type { RateLimitsSetting } from '../shared/rate-limits';
import type { Simulator } from '../simulator/types';
import { fmt, stat, type Stat } from './stats';

export interface RateLimitProfile {
  subtasks: number;
  concurrency: number;
  workers: number;
  rpm: number;
  /** Seconds of refill a full bucket holds in the simulator. */
  burstSeconds: number;
  latencyMs: number;
  runs: number;
}

export const RATE_LIMIT_PROFILES: Record<'quick' | 'full', RateLimitProfile> = {
  quick: { subtasks: 60, concurrency: 20, workers: 2, rpm: 120, burstSeconds: 5, latencyMs: 500, runs: 1 },
  full: { subtasks: 150, concurrency: 32, workers: 2, rpm: 180, burstSeconds: 5, latencyMs: 500, runs: 2 },
};

/** What the section needs from the benchmark harness (bench/run.ts). */
export interface RateLimitHarness {
  sim: Simulator;
  newQueue(name: string): string;
  /** Starts one worker process on the queue; `rateLimits` is its RENGA_RATE_LIMITS. */
  spawnWorker(
    taskQueue: string,
    rateLimits: RateLimitsSetting | undefined,
  ): Promise<{ kill(signal: NodeJS.Signals): Promise<void> }>;
  runJob(taskQueue: string, input: JobInputArg): Promise<unknown>;
  log(line: string): void;
}

export interface RateLimitRow {
  mode: 'admission' | 'off';
  ofMaximum: Stat;
  goodputPerMinute: Stat;
  per100Calls: Stat;
}

export interface RateLimitResult {
  profile: RateLimitProfile;
  rows: RateLimitRow[];
}

const WORKER_MODEL = 'claude-haiku-4-5';

export async function rateLimitSection(h: RateLimitHarness, p: RateLimitProfile): Promise<RateLimitResult> {
  h.sim.configure({ latencyMs: { [WORKER_MODEL]: p.latencyMs, '*': 0 } });
  type Samples = { of: number[]; gp: number[]; r: number[] };
  const samples: Record<'admission' | 'off', Samples> = {
    admission: { of: [], gp: [], r: [] },
    off: { of: [], gp: [], r: [] },
  };
  const bucket = Math.max(1, (p.rpm * p.burstSeconds) / 60);
  for (let run = 0; run < p.runs; run++) {
    for (const mode of ['admission', 'off'] as const) {
      const q = h.newQueue(`ratelimit-${mode}`);
      const workers = await Promise.all(
        Array.from({ length: p.workers }, () => h.spawnWorker(q, mode === 'off' ? 'off' : undefined)),
      );
      // A fresh, full bucket for every run.
      h.sim.setRateLimits({ families: {} });
      h.sim.setRateLimits({ families: { haiku: { rpm: p.rpm } }, burstSeconds: p.burstSeconds });
      const job = `Rate limit run ${run + 1} (${mode}): one line about each of many birds`;
      // Without admission a call may meet many 429s in a row: enough attempts that the job still completes.
      await h.runJob(q, { job, maxSubtasks: p.subtasks, concurrency: p.concurrency, maxAttempts: 100 });
      const calls = h.sim.log.filter((e) => e.model === WORKER_MODEL && e.lastUserText.includes(job));
      const ok = calls.filter((e) => e.outcome === 'ok');
      const spanMs = Date.parse(ok[ok.length - 1]!.at) - Date.parse(calls[0]!.at);
      const minimumMs = (Math.max(0, ok.length - bucket) / p.rpm) * 60_000;
      const s = samples[mode];
      s.of.push(minimumMs / spanMs);
      s.gp.push(ok.length / (spanMs / 60_000));
      s.r.push((calls.filter((e) => e.status === 429).length / calls.length) * 100);
      h.log(
        `rate limit ${mode} run ${run + 1}: ${ok.length} subtasks in ${(spanMs / 1000).toFixed(1)} s ` +
          `(limit allows ${(minimumMs / 1000).toFixed(1)} s), ${calls.length - ok.length} 429s in ${calls.length} calls`,
      );
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    }
  }
  h.sim.setRateLimits({ families: {} });
  return {
    profile: p,
    rows: (['admission', 'off'] as const).map((mode) => ({
      mode,
      ofMaximum: stat(samples[mode].of),
      goodputPerMinute: stat(samples[mode].gp),
      per100Calls: stat(samples[mode].r),
    })),
  };
}

export function rateLimitMarkdown(r: RateLimitResult, heading: string): string[] {
  const p = r.profile;
  const label = {
    admission: 'renga (admission, the default)',
    off: 'admission off (`RENGA_RATE_LIMITS=off`, as before)',
  };
  return [
    heading,
    '',
    `One job of ${p.subtasks} subtasks at concurrency ${p.concurrency} on ${p.workers} worker processes; the simulator limits the worker`,
    `model to ${p.rpm} requests per minute (continuous refill, a full bucket holds ${p.burstSeconds} s of it) and answers in ${p.latencyMs} ms.`,
    'Goodput is subtasks per minute over the fan-out (first to last haiku answer, simulator clock); the limit-implied',
    'maximum is the fastest the limit allows the same calls. 429s per 100 calls counts every haiku request received.',
    '',
    '| mode | goodput (subtasks/min) | goodput ÷ limit-implied maximum | 429s per 100 calls |',
    '|---|---:|---:|---:|',
    ...r.rows.map(
      (row) =>
        `| ${label[row.mode]} | ${fmt(row.goodputPerMinute, 1)} | ${fmt(row.ofMaximum, 3)} | ${fmt(row.per100Calls, 1)} |`,
    ),
    '',
  ];
}
