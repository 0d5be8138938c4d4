/**
 * Section 9, queue-ahead lanes (workflows/queue-ahead.ts): the same job with `queueAhead` on (the
 * default) and off, on one renga worker, runs alternated in a rotating order, at the cells where the
 * round trip between two calls of a lane matters (a short and a long latency, a long fan-out) and at
 * zero latency, where the worker's CPU and not the round trip limits the job. Each ratio is over pairs
 * of runs from the same round (on ÷ off), of wall time and of the worker's CPU per subtask.
 */
import { medianInterval, stat, type Interval, type Stat } from './stats';
import type { Profile } from './profiles';
import { type Ctx, cpuSeconds, log, newQueue, runJob, setLatency, spawnWorker, stopWorkers } from './context';

export interface QueueAheadRow {
  n: number;
  latencyMs: number;
  concurrency: number;
  runs: number;
  /** Wall time (ms) with queue-ahead on and off. */
  on: Stat;
  off: Stat;
  /** Wall time on ÷ off, per pair of runs, and the 95 % interval of its median. */
  ratio: Stat;
  ratioInterval: Interval;
  /** Worker CPU per subtask (ms) on and off. */
  cpuOn: Stat;
  cpuOff: Stat;
}

export async function queueAheadSection(ctx: Ctx, p: Profile['queueAhead']): Promise<QueueAheadRow[]> {
  const q = newQueue('queue-ahead');
  const w = await spawnWorker(ctx, q, 100);
  const rows: QueueAheadRow[] = [];
  try {
    setLatency(ctx, 0, 0);
    await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 4 });
    for (const cell of p.cells) {
      setLatency(ctx, cell.latencyMs, cell.latencyMs);
      const wall = { on: [] as number[], off: [] as number[] };
      const cpu = { on: [] as number[], off: [] as number[] };
      for (let i = 0; i < cell.runs; i++) {
        const order: ('on' | 'off')[] = i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
        for (const mode of order) {
          const cpu0 = cpuSeconds(w.pid);
          const rj = await runJob(ctx, q, {
            job: `Queue-ahead run ${i + 1}: describe ${cell.n} facts about rivers`,
            maxSubtasks: cell.n,
            concurrency: cell.concurrency,
            queueAhead: mode === 'on',
          });
          wall[mode].push(rj.ms);
          cpu[mode].push(((cpuSeconds(w.pid) - cpu0) * 1000) / cell.n);
        }
        log(
          `queue-ahead N=${cell.n} L=${cell.latencyMs} ms C=${cell.concurrency} run ${i + 1}: on ${(wall.on[i]! / 1000).toFixed(2)} s, off ${(wall.off[i]! / 1000).toFixed(2)} s`,
        );
      }
      const ratios = wall.on.map((x, i) => x / wall.off[i]!);
      rows.push({
        ...cell,
        on: stat(wall.on),
        off: stat(wall.off),
        ratio: stat(ratios),
        ratioInterval: medianInterval(ratios),
        cpuOn: stat(cpu.on),
        cpuOff: stat(cpu.off),
      });
    }
  } finally {
    await stopWorkers([w]);
  }
  return rows;
}
