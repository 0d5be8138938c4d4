/**
 * Section 8, the cost of each optional feature on the fan-out: the same job (N subtasks at latency L,
 * concurrency C) on four workers that differ in one feature each, runs interleaved in a rotating order so
 * a burst of load from elsewhere hits every variant alike. Each feature's figure is a ratio of paired runs
 * (with ÷ without), of wall time and of the worker's CPU per subtask:
 * - rate-limit admission (on by default, limits learned from the API's headers) against RENGA_RATE_LIMITS=off;
 * - budget reservations (a job with `budgetUsd`, which no call reaches) against the default job;
 * - tracing (OTLP/HTTP to a local sink that discards what it gets: renga's own cost, not a collector's).
 * Sub-agent turns have their own section (7).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { medianInterval, stat, type Interval, type Stat } from './stats';
import type { Profile } from './profiles';
import { type Ctx, cpuSeconds, log, newQueue, runJob, setLatency, spawnWorker, stopWorkers } from './context';
import type { BenchWorker } from './context';

export interface FeatureRow {
  feature: string;
  /** What the "with" side runs and what it is compared against. */
  compared: string;
  /** Wall time with ÷ without, per pair of runs. */
  wall: Stat;
  /** The 95 % confidence interval of that ratio's median (the target's verdict reads it). */
  wallInterval: Interval;
  /** Worker CPU per subtask with ÷ without, per pair of runs. */
  cpu: Stat;
  /** Worker CPU per subtask (ms) with the feature. */
  cpuMsWith: Stat;
}

export interface FeaturesResult {
  n: number;
  latencyMs: number;
  concurrency: number;
  runs: number;
  rows: FeatureRow[];
  /** OTLP export requests the sink received from the traced worker (proves tracing was on). */
  tracedRequests: number;
}

type Variant = 'defaults' | 'admission off' | 'budget' | 'tracing';
const VARIANTS: Variant[] = ['defaults', 'admission off', 'budget', 'tracing'];

/** An OTLP/HTTP endpoint that answers 200 to every export and counts them. */
async function otlpSink(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function features(ctx: Ctx, p: Profile['features']): Promise<FeaturesResult> {
  setLatency(ctx, p.latencyMs, p.latencyMs);
  const sink = await otlpSink();
  const queues = Object.fromEntries(VARIANTS.map((v) => [v, newQueue(`features-${v.replace(' ', '-')}`)])) as Record<
    Variant,
    string
  >;
  const workers: Record<Variant, BenchWorker> = {
    defaults: await spawnWorker(ctx, queues.defaults, 100),
    'admission off': await spawnWorker(ctx, queues['admission off'], 100, { rateLimits: 'off' }),
    budget: await spawnWorker(ctx, queues.budget, 100),
    tracing: await spawnWorker(ctx, queues.tracing, 100, { otlpTracesUrl: sink.url }),
  };
  const wall: Record<Variant, number[]> = { defaults: [], 'admission off': [], budget: [], tracing: [] };
  const cpu: Record<Variant, number[]> = { defaults: [], 'admission off': [], budget: [], tracing: [] };
  try {
    for (const v of VARIANTS) await runJob(ctx, queues[v], { job: 'warm-up', maxSubtasks: 2 });
    for (let i = 0; i < p.runs; i++) {
      // Rotate the order each run: no variant always goes first after a pause or last before one.
      const order = VARIANTS.map((_, k) => VARIANTS[(k + i) % VARIANTS.length]!);
      for (const v of order) {
        const pid = workers[v].pid;
        const cpu0 = cpuSeconds(pid);
        const rj = await runJob(ctx, queues[v], {
          job: `Feature run ${i + 1}: describe ${p.n} facts about lakes`,
          maxSubtasks: p.n,
          concurrency: p.concurrency,
          ...(v === 'budget' ? { budgetUsd: 1_000 } : {}),
        });
        wall[v].push(rj.ms);
        cpu[v].push(((cpuSeconds(pid) - cpu0) * 1000) / p.n);
      }
      log(
        `features run ${i + 1}: ${VARIANTS.map((v) => `${v} ${(wall[v][i]! / 1000).toFixed(2)} s / ${cpu[v][i]!.toFixed(1)} ms CPU`).join(', ')}`,
      );
    }
  } finally {
    await stopWorkers(Object.values(workers));
    await sink.close();
  }
  if (sink.requests() === 0) throw new Error('features: the traced worker exported no spans');
  const ratios = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
  const row = (feature: string, compared: string, w: Variant, wo: Variant): FeatureRow => ({
    feature,
    compared,
    wall: stat(ratios(wall[w], wall[wo])),
    wallInterval: medianInterval(ratios(wall[w], wall[wo])),
    cpu: stat(ratios(cpu[w], cpu[wo])),
    cpuMsWith: stat(cpu[w]),
  });
  return {
    n: p.n,
    latencyMs: p.latencyMs,
    concurrency: p.concurrency,
    runs: p.runs,
    rows: [
      row('rate-limit admission', 'defaults ÷ `RENGA_RATE_LIMITS=off`', 'defaults', 'admission off'),
      row('budget reservations', '`budgetUsd: 1000` ÷ defaults', 'budget', 'defaults'),
      row('tracing (OTLP/HTTP)', 'OTEL exporter on ÷ defaults', 'tracing', 'defaults'),
    ],
    tracedRequests: sink.requests(),
  };
}
