/**
 * Section 1, overhead: renga against two baselines at the same latency and fan-out: the in-process
 * Promise.all (no durability) and the naive Temporal workflow a user writes from the samples (bench/naive).
 */
import { performance } from 'node:perf_hooks';
import { runBaselineJob } from './baseline';
import { runNaiveJob, spawnNaiveWorker } from './naive/run';
import { stat, type Stat } from './stats';
import type { Profile } from './profiles';
import { type Ctx, newQueue, log, spawnWorker, stopWorkers, runJob, setLatency } from './context';

export interface OverheadRow {
  n: number;
  /** Simulated latency of every call in this cell. */
  latencyMs: number;
  idealMs: number;
  renga: Stat;
  baseline: Stat;
  rengaMs: Stat;
  baselineMs: Stat;
  rengaOverBaseline: Stat;
  naive: Stat;
  naiveMs: Stat;
  rengaOverNaive: Stat;
}

export async function overhead(ctx: Ctx, p: Profile['overhead']): Promise<OverheadRow[]> {
  const q = newQueue('overhead');
  const nq = newQueue('overhead-naive');
  const [w, nw] = [await spawnWorker(ctx, q, Math.max(100, p.concurrency)), await spawnNaiveWorker(ctx, nq)];
  await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 2 }); // loads the workflow bundle
  await runNaiveJob(ctx, nq, { job: 'warm-up', maxSubtasks: 2, concurrency: 2 });
  const rows: OverheadRow[] = [];
  const cells = [...p.ns.map((n) => ({ n, latencyMs: p.latencyMs, runs: p.runs })), p.short];
  for (const { n, latencyMs: L, runs } of cells) {
    setLatency(ctx, L, L);
    const idealMs = (2 + Math.ceil(n / p.concurrency)) * L;
    const r: number[] = [];
    const b: number[] = [];
    const nv: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Interleaved, so a burst of load from other processes hits both sides alike.
      const job = `Overhead run ${i + 1}: describe ${n} facts about rivers`;
      const rj = await runJob(ctx, q, { job, maxSubtasks: n, concurrency: p.concurrency });
      if (rj.doc.subtasks.length !== n && rj.doc.shards === undefined)
        throw new Error(`expected ${n} subtasks, got ${rj.doc.subtasks.length}`);
      r.push(rj.ms);
      const t0 = performance.now();
      const base = await runBaselineJob({ simUrl: ctx.sim.url, job, maxSubtasks: n, concurrency: p.concurrency });
      if (base.subtasks !== n) throw new Error(`baseline planned ${base.subtasks} subtasks, expected ${n}`);
      b.push(performance.now() - t0);
      nv.push(await runNaiveJob(ctx, nq, { job, maxSubtasks: n, concurrency: p.concurrency }));
      log(
        `overhead N=${n} L=${L} ms run ${i + 1}: renga ${(rj.ms / 1000).toFixed(2)} s, naive ${(nv[i]! / 1000).toFixed(2)} s, baseline ${(b[i]! / 1000).toFixed(2)} s, ideal ${(idealMs / 1000).toFixed(2)} s`,
      );
    }
    rows.push({
      n,
      latencyMs: L,
      idealMs,
      renga: stat(r.map((x) => x / idealMs)),
      baseline: stat(b.map((x) => x / idealMs)),
      rengaMs: stat(r),
      baselineMs: stat(b),
      rengaOverBaseline: stat(r.map((x, i) => x / b[i]!)),
      naive: stat(nv.map((x) => x / idealMs)),
      naiveMs: stat(nv),
      rengaOverNaive: stat(r.map((x, i) => x / nv[i]!)),
    });
  }
  await stopWorkers([w, nw]);
  return rows;
}
