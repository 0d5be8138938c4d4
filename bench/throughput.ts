/** Section 2, throughput: subtasks per second by worker count and concurrency. */
import { performance } from 'node:perf_hooks';
import { runBaselineJob } from './baseline';
import { runNaiveJob, spawnNaiveWorker } from './naive/run';
import { fmt, stat, type Stat } from './stats';
import type { Profile } from './profiles';
import {
  type Ctx,
  type BenchWorker,
  newQueue,
  log,
  spawnWorker,
  stopWorkers,
  cpuSeconds,
  runJob,
  setLatency,
} from './context';

export interface ThroughputRow {
  label: string;
  workers: number;
  concurrency: number;
  perSecond: Stat;
  /** CPU seconds per 1,000 subtasks: [workers, Temporal server, bench process with the simulator]. */
  cpuPer1000?: [number, number, number];
  /** Worker peak RSS (VmHWM, largest worker), MiB. */
  peakRssMiB?: number;
  /** renga rows: wall time ÷ the naive workflow's at the same concurrency (one worker), run by run (< 1: renga is faster). */
  wallOverNaive?: Stat;
  naive?: boolean;
}

export async function throughput(ctx: Ctx, p: Profile['throughput']): Promise<ThroughputRow[]> {
  setLatency(ctx, 0, 0);
  const rows: ThroughputRow[] = [];
  const base: number[] = [];
  const maxC = Math.max(...p.configs.map((c) => c.concurrency));
  for (let i = 0; i < p.runs; i++) {
    const t0 = performance.now();
    await runBaselineJob({
      simUrl: ctx.sim.url,
      job: `Throughput baseline ${i}: list facts`,
      maxSubtasks: p.subtasks,
      concurrency: maxC,
    });
    base.push(p.subtasks / ((performance.now() - t0) / 1000));
  }
  rows.push({
    label: `baseline: in-process Promise.all, limit ${maxC}`,
    workers: 0,
    concurrency: maxC,
    perSecond: stat(base),
  });
  log(`throughput baseline: ${fmt(stat(base), 0)} subtasks/s`);
  // The naive Temporal workflow (bench/naive) on one worker at each concurrency renga runs at.
  const naiveRates = new Map<number, number[]>();
  for (const concurrency of [...new Set(p.configs.map((c) => c.concurrency))]) {
    const q = newQueue('throughput-naive');
    const w = await spawnNaiveWorker(ctx, q);
    await runNaiveJob(ctx, q, { job: 'warm-up', maxSubtasks: 4, concurrency: 4 });
    const xs: number[] = [];
    const { result: per1000 } = await measureCpu(ctx, [w], p.runs * p.subtasks, async () => {
      for (let i = 0; i < p.runs; i++) {
        const ms = await runNaiveJob(ctx, q, {
          job: `Throughput run ${i}: list facts`,
          maxSubtasks: p.subtasks,
          concurrency,
        });
        xs.push(p.subtasks / (ms / 1000));
      }
    });
    naiveRates.set(concurrency, xs);
    rows.push({
      label: `naive Temporal workflow: 1 worker, concurrency ${concurrency}`,
      workers: 1,
      concurrency,
      perSecond: stat(xs),
      cpuPer1000: per1000,
      peakRssMiB: w.peakRss() / 2 ** 20,
      naive: true,
    });
    log(`throughput naive C=${concurrency}: ${fmt(stat(xs), 0)} subtasks/s`);
    await stopWorkers([w]);
  }
  for (const c of p.configs) {
    const q = newQueue('throughput');
    const ws: BenchWorker[] = [];
    // renga's default activity slots (RENGA_MAX_ACTIVITIES = 100), as the naive worker runs with the SDK's default
    // 100: at concurrency 200, 200 slots let more than 100 completions pile up behind one workflow task, and the
    // server then force-fails it (history.maximumBufferedEventsBatch, 100), which costs a full replay.
    for (let i = 0; i < c.workers; i++) ws.push(await spawnWorker(ctx, q, 100));
    await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 4 });
    const xs: number[] = [];
    const { result: per1000 } = await measureCpu(ctx, ws, p.runs * p.subtasks, async () => {
      for (let i = 0; i < p.runs; i++) {
        const rj = await runJob(ctx, q, {
          job: `Throughput run ${i}: list facts`,
          maxSubtasks: p.subtasks,
          concurrency: c.concurrency,
        });
        xs.push(p.subtasks / (rj.ms / 1000));
      }
    });
    const naive = naiveRates.get(c.concurrency);
    rows.push({
      label: `renga: ${c.workers} worker${c.workers > 1 ? 's' : ''}, concurrency ${c.concurrency}`,
      ...c,
      perSecond: stat(xs),
      cpuPer1000: per1000,
      peakRssMiB: Math.max(...ws.map((w) => w.peakRss() / 2 ** 20)),
      ...(naive ? { wallOverNaive: stat(xs.map((x, i) => naive[i % naive.length]! / x)) } : {}),
    });
    log(`throughput ${c.workers}w C=${c.concurrency}: ${fmt(stat(xs), 0)} subtasks/s`);
    await stopWorkers(ws);
  }
  return rows;
}

/** CPU seconds per 1,000 subtasks while `run` runs: on 2 shared cores this says which process is the bottleneck. */
async function measureCpu(
  ctx: Ctx,
  ws: BenchWorker[],
  subtasks: number,
  run: () => Promise<void>,
): Promise<{ result: [number, number, number] }> {
  const cpu = () => [
    ws.reduce((n, w) => n + cpuSeconds(w.pid), 0),
    cpuSeconds(ctx.server.pid),
    process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
  ];
  const before = cpu();
  await run();
  const after = cpu();
  return { result: after.map((x, i) => ((x - before[i]!) / subtasks) * 1000) as [number, number, number] };
}
