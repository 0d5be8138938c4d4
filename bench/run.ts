/**
 * `npm run bench [-- --quick] [-- --only=overhead,throughput,scale,recovery,cost,ratelimit,subagent,features,queueahead]`
 *
 * Measures renga against two baselines in the same run (in-process Promise.all, and the naive
 * Temporal workflow of bench/naive), on a real Temporal dev server and
 * the local Messages API simulator (fixed latency), both started here. Workers are separate
 * processes (bench/worker-proc.ts) so their peak RSS is their own and they can be SIGKILLed.
 * Every figure is a ratio or a median (min–max) of several runs: the machine is shared and noisy.
 * Writes BENCHMARKS.md (keeping anything after its analysis marker) and docs/bench-overhead.svg.
 * Any job that does not complete fails the benchmark.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureTemporalBinary } from '../temporal/binary';
import { overheadChart } from './chart';
import { SECTIONS, PROFILES, type Section } from './profiles';
import { REPO, log, newQueue, runJob, spawnWorker } from './context';
import { startBenchStack } from './stack';
import { overhead } from './overhead';
import { throughput } from './throughput';
import { scale } from './scale';
import { recovery } from './recovery';
import { cost } from './cost';
import { subagentSection } from './subagent';
import { features } from './features';
import { queueAheadSection } from './queue-ahead';
import { RATE_LIMIT_PROFILES, rateLimitSection } from './rate-limit';
import { report, type Results, ANALYSIS_MARKER, OVERHEAD_TARGETS, setTemporalBin } from './report';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const profile = PROFILES[args.includes('--quick') ? 'quick' : 'full'];
  const onlyArg = args.find((a) => a.startsWith('--only='))?.slice(7);
  const only = onlyArg ? (onlyArg.split(',') as Section[]) : SECTIONS;
  for (const s of only)
    if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
  const write = !args.includes('--no-write');
  const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  const startedAt = new Date();
  const t0 = performance.now();

  setTemporalBin(await ensureTemporalBinary());
  log(`profile ${profile.name}; sections ${only.join(', ')}; bundling workflow code`);
  const stack = await startBenchStack();
  const { ctx } = stack;
  const results: Results = {};
  try {
    if (only.includes('overhead')) results.overhead = await overhead(ctx, profile.overhead);
    if (only.includes('throughput')) results.throughput = await throughput(ctx, profile.throughput);
    if (only.includes('scale')) results.scale = await scale(ctx, profile.scale);
    if (only.includes('recovery')) results.recovery = await recovery(ctx, profile.recovery);
    if (only.includes('cost')) results.cost = await cost(ctx);
    if (only.includes('subagent')) results.subagent = await subagentSection(ctx, profile.subagent);
    if (only.includes('features')) results.features = await features(ctx, profile.features);
    if (only.includes('queueahead')) results.queueAhead = await queueAheadSection(ctx, profile.queueAhead);
    if (only.includes('ratelimit'))
      results.ratelimit = await rateLimitSection(
        {
          sim: ctx.sim,
          newQueue,
          spawnWorker: (q, rateLimits) => spawnWorker(ctx, q, 100, { rateLimits }),
          runJob: (q, input) => runJob(ctx, q, input),
          log,
        },
        RATE_LIMIT_PROFILES[profile.name],
      );
  } finally {
    await stack.stop();
  }

  const md = report(profile, results, command, startedAt, (performance.now() - t0) / 1000);
  console.log(md);
  if (!write) return;
  const file = path.join(REPO, 'BENCHMARKS.md');
  const kept = existsSync(file) ? readFileSync(file, 'utf8').split(ANALYSIS_MARKER)[1] : undefined;
  writeFileSync(file, `${md}\n${ANALYSIS_MARKER}\n${kept ?? '\n## Analysis\n\n(written by hand after a run)\n'}`);
  if (results.overhead) {
    mkdirSync(path.join(REPO, 'docs'), { recursive: true });
    // The chart is against N at one latency; the short-latency cell is in the table only.
    const curve = results.overhead.filter((r) => r.latencyMs === profile.overhead.latencyMs);
    const svg = overheadChart(
      [
        {
          name: 'renga (Temporal, durable)',
          color: '#2563eb',
          points: curve.map((r) => ({ n: r.n, ratio: r.renga })),
        },
        {
          name: 'naive Temporal workflow (samples style)',
          color: '#d97706',
          points: curve.map((r) => ({ n: r.n, ratio: r.naive })),
        },
        {
          name: 'baseline (in-process Promise.all)',
          color: '#6b7280',
          points: curve.map((r) => ({ n: r.n, ratio: r.baseline })),
        },
      ],
      {
        title: `Overhead vs fan-out (L = ${profile.overhead.latencyMs} ms, C = ${profile.overhead.concurrency})`,
        targets: OVERHEAD_TARGETS,
      },
    );
    writeFileSync(path.join(REPO, 'docs', 'bench-overhead.svg'), svg);
  }
  log(`wrote BENCHMARKS.md${results.overhead ? ' and docs/bench-overhead.svg' : ''}`);
}

main().catch((err) => {
  console.error('benchmark FAILED:', err);
  process.exit(1);
});
