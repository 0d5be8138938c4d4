/**
 * One worker's peak RSS over several jobs, for renga's two heap profiles (RENGA_WORKER_HEAP, worker/heap.ts)
 * against the naive workflow's worker: each variant gets a fresh worker process, a warm-up job, then `--jobs`
 * jobs of `--subtasks` at zero latency and concurrency `--concurrency`, one after the other, as the
 * throughput section runs them. Prints the peak after the warm-up and after each job, the wall time and the
 * worker's CPU per 1,000 subtasks; the variants alternate, `--rounds` times.
 *
 *   npx tsx bench/worker-memory.ts [--rounds=3] [--jobs=3] [--subtasks=500] [--concurrency=64]
 */
import { performance } from 'node:perf_hooks';
import { cpuSeconds, log, newQueue, runJob, setLatency, spawnWorker, stopWorkers } from './context';
import { runNaiveJob, spawnNaiveWorker } from './naive/run';
import { startBenchStack } from './stack';

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);

const rounds = arg('rounds', 3);
const jobs = arg('jobs', 3);
const subtasks = arg('subtasks', 500);
const concurrency = arg('concurrency', 64);

type Variant = 'naive' | 'renga lean' | 'renga v8';
const VARIANTS: Variant[] = ['naive', 'renga lean', 'renga v8'];

async function main(): Promise<void> {
  const { ctx, stop } = await startBenchStack();
  setLatency(ctx, 0, 0);
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  try {
    console.log(`| round | worker | peak RSS after warm-up / each job (MiB) | wall (s) | worker CPU s per 1,000 |`);
    console.log(`|---:|---|---|---:|---:|`);
    for (let r = 1; r <= rounds; r++) {
      for (const v of VARIANTS) {
        const q = newQueue('memory');
        // The worker process reads it as a `renga worker` does (bench/worker-proc.ts).
        process.env.RENGA_WORKER_HEAP = v === 'renga v8' ? 'v8' : 'lean';
        const naive = v === 'naive';
        const w = naive ? await spawnNaiveWorker(ctx, q) : await spawnWorker(ctx, q, 100);
        if (naive) await runNaiveJob(ctx, q, { job: 'warm-up', maxSubtasks: 4, concurrency: 4 });
        else await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 4 });
        const peaks = [mib(w.peakRss())];
        const cpu0 = cpuSeconds(w.pid);
        const t0 = performance.now();
        for (let i = 0; i < jobs; i++) {
          const job = `Memory run ${i}: list facts`;
          if (naive) await runNaiveJob(ctx, q, { job, maxSubtasks: subtasks, concurrency });
          else await runJob(ctx, q, { job, maxSubtasks: subtasks, concurrency });
          peaks.push(mib(w.peakRss()));
        }
        const wall = (performance.now() - t0) / 1000;
        const cpu = ((cpuSeconds(w.pid) - cpu0) / (jobs * subtasks)) * 1000;
        console.log(`| ${r} | ${v} | ${peaks.join(' / ')} | ${wall.toFixed(1)} | ${cpu.toFixed(2)} |`);
        await stopWorkers([w]);
      }
    }
  } finally {
    delete process.env.RENGA_WORKER_HEAP;
    await stop();
  }
  log('worker memory: done');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
