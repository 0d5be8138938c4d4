/** Section 2, throughput: subtasks per second by worker count and concurrency. */
import { performance } from 'node:perf_hooks';
import { runBaselineJob } from './baseline';
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
  for (const c of p.configs) {
    const q = newQueue('throughput');
    const ws: BenchWorker[] = [];
    for (let i = 0; i < c.workers; i++) ws.push(await spawnWorker(ctx, q, Math.max(100, c.concurrency)));
    await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 4 });
    const xs: number[] = [];
    // Where the CPU goes: on 2 shared cores this says which process is the bottleneck.
    const cpu = () => [
      ws.reduce((n, w) => n + cpuSeconds(w.pid), 0),
      cpuSeconds(ctx.server.pid),
      process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    ];
    const before = cpu();
    for (let i = 0; i < p.runs; i++) {
      const rj = await runJob(ctx, q, {
        job: `Throughput run ${i}: list facts`,
        maxSubtasks: p.subtasks,
        concurrency: c.concurrency,
      });
      xs.push(p.subtasks / (rj.ms / 1000));
    }
    const after = cpu();
    const per1000 = after.map((x, i) => ((x - before[i]!) / (p.runs * p.subtasks)) * 1000) as [number, number, number];
    rows.push({
      label: `renga: ${c.workers} worker${c.workers > 1 ? 's' : ''}, concurrency ${c.concurrency}`,
      ...c,
      perSecond: stat(xs),
      cpuPer1000: per1000,
    });
    log(`throughput ${c.workers}w C=${c.concurrency}: ${fmt(stat(xs), 0)} subtasks/s`);
    await stopWorkers(ws);
  }
  return rows;
}
