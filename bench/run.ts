/**
 * `npm run bench [-- --quick] [-- --only overhead,throughput,scale,recovery,cost]`
 *
 * Measures renga against the simplest baseline in the same run, on a real Temporal dev server and
 * the local Messages API simulator (fixed latency), both started here. Workers are separate
 * processes (bench/worker-proc.ts) so their peak RSS is their own and they can be SIGKILLed.
 * Every figure is a ratio or a median (min–max) of several runs: the machine is shared and noisy.
 * Writes BENCHMARKS.md (keeping anything after its analysis marker) and docs/bench-overhead.svg.
 * Any job that does not complete fails the benchmark.
 */
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { bundleWorkflowCode } from '@temporalio/worker';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { getResult, startJob, type RengaClient } from '../client/api';
import { loadClientConfig } from '../shared/config';
import type { JobInputArg, ResultDocument } from '../shared/schemas';
import { progressQuery } from '../workflows/definitions';
import { startSimulator } from '../simulator/server';
import type { Simulator } from '../simulator/types';
import { ensureTemporalBinary } from '../temporal/binary';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { runBaselineJob } from './baseline';
import { overheadChart } from './chart';
import { fmt, stat, type Stat } from './stats';
import { RATE_LIMIT_PROFILES, rateLimitMarkdown, rateLimitSection, type RateLimitResult } from './rate-limit';
import { READY, type BenchWorkerConfig } from './worker-proc';

const REPO = path.resolve(__dirname, '..');
const ANALYSIS_MARKER = '<!-- analysis: everything below this line is kept when the benchmark rewrites this file -->';
const PLANNER = 'claude-sonnet-4-6';
const WORKER = 'claude-haiku-4-5';

type Section = 'overhead' | 'throughput' | 'scale' | 'recovery' | 'cost' | 'ratelimit';
const SECTIONS: Section[] = ['overhead', 'throughput', 'scale', 'recovery', 'cost', 'ratelimit'];

interface Profile {
  name: 'quick' | 'full';
  overhead: { ns: number[]; latencyMs: number; concurrency: number; runs: number };
  throughput: { subtasks: number; configs: { workers: number; concurrency: number }[]; runs: number };
  scale: { subtasks: number; concurrency: number; runs: number };
  recovery: { subtasks: number; concurrency: number; latencyMs: number; heartbeatSeconds: number; runs: number };
}

const PROFILES: Record<'quick' | 'full', Profile> = {
  quick: {
    name: 'quick',
    overhead: { ns: [10, 100], latencyMs: 1000, concurrency: 16, runs: 3 },
    throughput: {
      subtasks: 400,
      configs: [
        { workers: 1, concurrency: 64 },
        { workers: 2, concurrency: 64 },
      ],
      runs: 2,
    },
    scale: { subtasks: 2_000, concurrency: 100, runs: 1 },
    recovery: { subtasks: 32, concurrency: 8, latencyMs: 1000, heartbeatSeconds: 5, runs: 1 },
  },
  full: {
    name: 'full',
    overhead: { ns: [10, 100, 1000], latencyMs: 1000, concurrency: 16, runs: 3 },
    throughput: {
      subtasks: 500,
      configs: [
        { workers: 1, concurrency: 16 },
        { workers: 1, concurrency: 64 },
        { workers: 1, concurrency: 200 },
        { workers: 2, concurrency: 64 },
        { workers: 2, concurrency: 200 },
      ],
      runs: 3,
    },
    scale: { subtasks: 10_000, concurrency: 100, runs: 1 },
    recovery: { subtasks: 48, concurrency: 8, latencyMs: 1000, heartbeatSeconds: 5, runs: 3 },
  },
};

interface Ctx {
  server: DevServer;
  sim: Simulator;
  client: Client;
  bundlePath: string;
  blobDir: string;
  workers: BenchWorker[];
}

interface BenchWorker {
  pid: number;
  startMs: number;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRss(): number;
  kill(signal: NodeJS.Signals): Promise<void>;
}

let queueSeq = 0;
const newQueue = (name: string) => `bench-${name}-${process.pid}-${++queueSeq}`;

function log(line: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** RENGA_BENCH_EAGER=1 turns on the server's eager activity dispatch (off by default in Temporal), to compare. */
function serverDynamicConfig(): Record<string, boolean> {
  return process.env.RENGA_BENCH_EAGER === '1' ? { 'system.enableActivityEagerExecution': true } : {};
}

/** Extra node flags for worker processes, e.g. RENGA_BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them. */
function workerNodeArgs(): string[] {
  return (process.env.RENGA_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

async function spawnWorker(
  ctx: Ctx,
  taskQueue: string,
  maxConcurrentActivities: number,
  extra: Partial<BenchWorkerConfig> = {},
): Promise<BenchWorker> {
  const cfg: BenchWorkerConfig = {
    ...extra,
    address: ctx.server.address,
    namespace: ctx.server.namespace,
    taskQueue,
    simUrl: ctx.sim.url,
    blobDir: ctx.blobDir,
    bundlePath: ctx.bundlePath,
    maxConcurrentActivities,
    planMaxTokens: 2_000_000,
  };
  const t0 = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [...workerNodeArgs(), '--import', 'tsx', path.join(__dirname, 'worker-proc.ts'), JSON.stringify(cfg)],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(READY)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bench worker exited with ${code}:\n${out}`)));
  });
  const pid = child.pid!;
  const w: BenchWorker = {
    pid,
    startMs: performance.now() - t0,
    peakRss: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : NaN;
    },
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  ctx.workers.push(w);
  return w;
}

async function stopWorkers(ws: BenchWorker[]): Promise<void> {
  await Promise.all(ws.map((w) => w.kill('SIGTERM')));
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of the line, in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function rcFor(ctx: Ctx, taskQueue: string): RengaClient {
  return {
    client: ctx.client,
    config: { ...loadClientConfig({}), TEMPORAL_ADDRESS: ctx.server.address, RENGA_TASK_QUEUE: taskQueue },
    close: async () => undefined,
  };
}

/** Runs one job to its end; anything but `completed` fails the benchmark. */
async function runJob(
  ctx: Ctx,
  taskQueue: string,
  input: JobInputArg,
): Promise<{ id: string; ms: number; doc: ResultDocument }> {
  const rc = rcFor(ctx, taskQueue);
  const t0 = performance.now();
  const id = await startJob(rc, input);
  const doc = await getResult(rc, id);
  const ms = performance.now() - t0;
  if (doc.status !== 'completed') throw new Error(`benchmark job ${id} ended ${doc.status}: ${doc.error ?? ''}`);
  return { id, ms, doc };
}

function setLatency(ctx: Ctx, workerMs: number, plannerMs: number): void {
  ctx.sim.configure({ latencyMs: { [WORKER]: workerMs, [PLANNER]: plannerMs, '*': 0 } });
}

// ---------------------------------------------------------------- 1. overhead

interface OverheadRow {
  n: number;
  idealMs: number;
  renga: Stat;
  baseline: Stat;
  rengaMs: Stat;
  baselineMs: Stat;
  rengaOverBaseline: Stat;
}

async function overhead(ctx: Ctx, p: Profile['overhead']): Promise<OverheadRow[]> {
  const L = p.latencyMs;
  setLatency(ctx, L, L);
  const q = newQueue('overhead');
  const [w] = [await spawnWorker(ctx, q, Math.max(100, p.concurrency))];
  await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 2 }); // loads the workflow bundle
  const rows: OverheadRow[] = [];
  for (const n of p.ns) {
    const idealMs = (2 + Math.ceil(n / p.concurrency)) * L;
    const r: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < p.runs; i++) {
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
      log(
        `overhead N=${n} run ${i + 1}: renga ${(rj.ms / 1000).toFixed(2)} s, baseline ${(b[i]! / 1000).toFixed(2)} s, ideal ${(idealMs / 1000).toFixed(2)} s`,
      );
    }
    rows.push({
      n,
      idealMs,
      renga: stat(r.map((x) => x / idealMs)),
      baseline: stat(b.map((x) => x / idealMs)),
      rengaMs: stat(r),
      baselineMs: stat(b),
      rengaOverBaseline: stat(r.map((x, i) => x / b[i]!)),
    });
  }
  await stopWorkers([w]);
  return rows;
}

// ---------------------------------------------------------------- 2. throughput

interface ThroughputRow {
  label: string;
  workers: number;
  concurrency: number;
  perSecond: Stat;
  /** CPU seconds per 1,000 subtasks: [workers, Temporal server, bench process with the simulator]. */
  cpuPer1000?: [number, number, number];
}

async function throughput(ctx: Ctx, p: Profile['throughput']): Promise<ThroughputRow[]> {
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

// ---------------------------------------------------------------- 3. scale

interface ScaleResult {
  subtasks: number;
  concurrency: number;
  shards: number;
  seconds: Stat;
  perSecond: Stat;
  peakRssMiB: Stat;
  parentEvents: number;
  parentHistoryBytes: number;
  maxChildEvents: number;
  maxChildHistoryBytes: number;
  totalEvents: number;
  resultBytes: number;
  requests: number;
}

async function scale(ctx: Ctx, p: Profile['scale']): Promise<ScaleResult> {
  setLatency(ctx, 0, 0);
  const secs: number[] = [];
  const rss: number[] = [];
  let last: Omit<ScaleResult, 'seconds' | 'perSecond' | 'peakRssMiB'> | null = null;
  for (let i = 0; i < p.runs; i++) {
    const q = newQueue('scale');
    const w = await spawnWorker(ctx, q, p.concurrency);
    ctx.sim.clearLog();
    const rj = await runJob(ctx, q, {
      job: `Scale run ${i}: one line on each item`,
      maxSubtasks: p.subtasks,
      concurrency: p.concurrency,
    });
    secs.push(rj.ms / 1000);
    rss.push(w.peakRss() / 2 ** 20);
    const shards = rj.doc.shards ?? [];
    const done = shards.reduce((n, s) => n + s.completed, 0);
    if (done !== p.subtasks) throw new Error(`scale job completed ${done} of ${p.subtasks} subtasks`);
    const parent = await ctx.client.workflow.getHandle(rj.id).describe();
    const children = await Promise.all(
      shards.map((s) => ctx.client.workflow.getHandle(`${rj.id}/shard-${s.index + 1}`).describe()),
    );
    last = {
      subtasks: p.subtasks,
      concurrency: p.concurrency,
      shards: shards.length,
      parentEvents: parent.historyLength,
      parentHistoryBytes: parent.historySize ?? NaN,
      maxChildEvents: Math.max(...children.map((c) => c.historyLength)),
      maxChildHistoryBytes: Math.max(...children.map((c) => c.historySize ?? NaN)),
      totalEvents: parent.historyLength + children.reduce((n, c) => n + c.historyLength, 0),
      resultBytes: Buffer.byteLength(JSON.stringify(rj.doc)),
      requests: ctx.sim.log.length,
    };
    log(
      `scale ${p.subtasks}: ${secs[i]!.toFixed(1)} s, worker peak RSS ${rss[i]!.toFixed(0)} MiB, ${last.totalEvents} events`,
    );
    await stopWorkers([w]);
  }
  return { ...last!, seconds: stat(secs), perSecond: stat(secs.map((s) => p.subtasks / s)), peakRssMiB: stat(rss) };
}

// ---------------------------------------------------------------- 4. recovery

interface RecoveryResult {
  heartbeatSeconds: number;
  latencyMs: number;
  concurrency: number;
  recoveryMs: Stat;
  retryStartMs: Stat;
  workerStartMs: Stat;
  inFlight: Stat;
  repeated: Stat;
  repeatedFinished: number;
}

async function recovery(ctx: Ctx, p: Profile['recovery']): Promise<RecoveryResult> {
  setLatency(ctx, p.latencyMs, 100);
  const rec: number[] = [];
  const retryStarts: number[] = [];
  const starts: number[] = [];
  const inflight: number[] = [];
  const repeats: number[] = [];
  let repeatedFinished = 0;
  for (let i = 0; i < p.runs; i++) {
    const q = newQueue('recovery');
    const first = await spawnWorker(ctx, q, 100);
    ctx.sim.clearLog();
    const rc = rcFor(ctx, q);
    const id = await startJob(rc, {
      job: `Recovery run ${i}: explain facts`,
      maxSubtasks: p.subtasks,
      concurrency: p.concurrency,
      heartbeatTimeoutSeconds: p.heartbeatSeconds,
    });
    const handle = ctx.client.workflow.getHandle(id);
    // Kill once a full wave is done and the next one is in flight.
    let snapshot: { completed: string[]; running: number } | null = null;
    for (let delay = 20; !snapshot; delay = Math.min(100, delay * 2)) {
      const pr = await handle.query(progressQuery);
      if (pr.completed >= p.concurrency && pr.running > 0) {
        snapshot = {
          completed: pr.subtasks.filter((s) => s.state === 'completed').map((s) => s.id),
          running: pr.running,
        };
        break;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
    const killedAt = Date.now();
    await first.kill('SIGKILL');
    const second = await spawnWorker(ctx, q, 100);
    starts.push(second.startMs);
    const doc = await getResult(rc, id);
    if (doc.status !== 'completed') throw new Error(`recovery job ${id} ended ${doc.status}`);
    const history = await handle.fetchHistory();
    const next = (history.events ?? [])
      .filter((e) => e.activityTaskCompletedEventAttributes && tsToMs(e.eventTime) > killedAt)
      .map((e) => tsToMs(e.eventTime))
      .sort((a, b) => a - b)[0]!;
    rec.push(next - killedAt);
    // The retried attempt's start: what is left of recovery once the call's own latency is taken out.
    const retried = (history.events ?? [])
      .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
      .map((e) => tsToMs(e.eventTime))
      .sort((a, b) => a - b)[0]!;
    retryStarts.push(retried - killedAt);
    const counts = new Map<string, number>();
    for (const e of ctx.sim.log) {
      const sid = /^Subtask (s\d+) of \d+:/m.exec(e.lastUserText)?.[1];
      if (sid) counts.set(sid, (counts.get(sid) ?? 0) + 1);
    }
    const repeated = [...counts.entries()].filter(([, c]) => c > 1).map(([sid]) => sid);
    repeatedFinished += repeated.filter((sid) => snapshot!.completed.includes(sid)).length;
    inflight.push(snapshot.running);
    repeats.push(repeated.length);
    log(
      `recovery run ${i + 1}: next subtask finished ${((next - killedAt) / 1000).toFixed(2)} s after SIGKILL; ${repeated.length} repeated, ${snapshot.running} in flight`,
    );
    await stopWorkers([second]);
  }
  return {
    heartbeatSeconds: p.heartbeatSeconds,
    latencyMs: p.latencyMs,
    concurrency: p.concurrency,
    recoveryMs: stat(rec),
    retryStartMs: stat(retryStarts),
    workerStartMs: stat(starts),
    inFlight: stat(inflight),
    repeated: stat(repeats),
    repeatedFinished,
  };
}

// ---------------------------------------------------------------- 5. cost

interface CostResult {
  subtasks: number;
  mixed: ResultDocument['usage'];
  allSonnet: ResultDocument['usage'];
}

async function cost(ctx: Ctx): Promise<CostResult> {
  setLatency(ctx, 0, 0);
  const q = newQueue('cost');
  const w = await spawnWorker(ctx, q, 100);
  const job = 'Review the reference architecture of a payments service, one concern per subtask';
  const mixed = await runJob(ctx, q, { job, maxSubtasks: 20, concurrency: 8 });
  const sonnet = await runJob(ctx, q, { job, maxSubtasks: 20, concurrency: 8, workerModel: PLANNER });
  await stopWorkers([w]);
  return { subtasks: 20, mixed: mixed.doc.usage, allSonnet: sonnet.doc.usage };
}

// ---------------------------------------------------------------- report

interface Results {
  overhead?: OverheadRow[];
  throughput?: ThroughputRow[];
  scale?: ScaleResult;
  recovery?: RecoveryResult;
  cost?: CostResult;
  ratelimit?: RateLimitResult;
}

/** The binary the bench's dev server runs (set in main), so the report names its version. */
let temporalBin = 'temporal';

function machine(): string[] {
  const cpus = os.cpus();
  let temporal = 'unknown';
  try {
    temporal = execFileSync(temporalBin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    /* reported as unknown */
  }
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
  return [
    `- CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}; RAM ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node.js ${process.version}; ${temporal}; Temporal TS SDK ${readPkgVersion('@temporalio/worker')}; @anthropic-ai/sdk ${readPkgVersion('@anthropic-ai/sdk')}`,
    `- Load average at the end (1/5/15 min): ${load} — the machine is shared with other test runs, so absolute times are noisy; compare ratios.`,
  ];
}

function readPkgVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '?';
  }
}

const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

function report(profile: Profile, results: Results, command: string, startedAt: Date, seconds: number): string {
  const L: string[] = [];
  L.push('# renga benchmarks', '');
  L.push(
    `Generated by \`${command}\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC (profile **${profile.name}**, ${Math.round(seconds)} s).`,
  );
  L.push(
    'All figures: median (min–max) over the runs stated. Every job runs on a real Temporal dev server and against the',
  );
  L.push(
    'local Messages API simulator with a fixed latency per model, both started by the benchmark; workers are separate processes.',
    '',
  );
  L.push('## Machine', '', ...machine(), '');

  const targets: string[] = [];
  if (results.overhead) {
    const o = profile.overhead;
    L.push('## 1. Orchestration overhead', '');
    L.push(
      `One job of N subtasks, simulated latency L = ${o.latencyMs} ms for every call (planner and worker), concurrency C = ${o.concurrency}.`,
    );
    L.push('Ratio = wall time (start → result on the client) ÷ ideal makespan `plan + ceil(N/C)·L + synth`.');
    L.push(
      'The baseline makes the same calls through the same SDK in one process (`Promise.all` with a limit; no Temporal).',
      '',
    );
    L.push('| N | ideal | renga wall | baseline wall | renga ÷ ideal | baseline ÷ ideal | renga ÷ baseline |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results.overhead) {
      L.push(
        `| ${r.n} | ${(r.idealMs / 1000).toFixed(1)} s | ${fmt(scaleStat(r.rengaMs, 1 / 1000), 2, ' s')} | ${fmt(scaleStat(r.baselineMs, 1 / 1000), 2, ' s')} | ${fmt(r.renga, 3)} | ${fmt(r.baseline, 3)} | ${fmt(r.rengaOverBaseline, 3)} |`,
      );
    }
    L.push('', '![overhead against fan-out size](docs/bench-overhead.svg)', '');
    const at100 = results.overhead.find((r) => r.n === 100);
    if (at100)
      targets.push(
        `| overhead ratio ≤ 1.05 at N=100, L=1 s, C=16 | ${fmt(at100.renga, 3)} | ${verdict(at100.renga.median <= 1.05)} |`,
      );
  }
  if (results.throughput) {
    const t = profile.throughput;
    L.push('## 2. Throughput', '');
    L.push(
      `Zero simulated latency; one job of ${t.subtasks} subtasks (one workflow run, no sharding); subtasks/s = N ÷ wall time including plan and synthesis.`,
      '',
    );
    L.push(
      'CPU columns: CPU seconds per 1,000 subtasks spent by the worker process(es), the Temporal dev server, and the benchmark',
    );
    L.push('process (client + simulator), read from /proc — on 2 cores, whichever is largest is the bottleneck.', '');
    L.push(
      '| configuration | subtasks/s | CPU s/1k: workers | server | bench+simulator |',
      '|---|---:|---:|---:|---:|',
    );
    for (const r of results.throughput) {
      const c = r.cpuPer1000?.map((x) => x.toFixed(1)) ?? ['—', '—', '—'];
      L.push(`| ${r.label} | ${fmt(r.perSecond, 0)} | ${c[0]} | ${c[1]} | ${c[2]} |`);
    }
    L.push('');
    const one = results.throughput
      .filter((r) => r.workers === 1)
      .sort((a, b) => b.perSecond.median - a.perSecond.median)[0];
    if (one)
      targets.push(
        `| throughput ≥ 200 subtasks/s, one worker | ${fmt(one.perSecond, 0)} (${one.label}) | ${verdict(one.perSecond.median >= 200)} |`,
      );
  }
  if (results.scale) {
    const s = results.scale;
    L.push('## 3. Scale', '');
    L.push(
      `One job of ${s.subtasks.toLocaleString('en')} subtasks, zero latency, concurrency ${s.concurrency}, one worker process; the plan is larger than`,
    );
    L.push(`the shard size (500), so it runs as ${s.shards} child workflows (workflows/shard.ts).`, '');
    L.push('| figure | value |', '|---|---:|');
    L.push(`| wall time | ${fmt(s.seconds, 1, ' s')} |`);
    L.push(`| subtasks/s | ${fmt(s.perSecond, 0)} |`);
    L.push(`| worker peak RSS (VmHWM, includes tsx) | ${fmt(s.peakRssMiB, 0, ' MiB')} |`);
    L.push(`| parent history | ${s.parentEvents} events, ${kib(s.parentHistoryBytes)} |`);
    L.push(`| largest shard history | ${s.maxChildEvents} events, ${kib(s.maxChildHistoryBytes)} |`);
    L.push(`| events over all runs of the job | ${s.totalEvents.toLocaleString('en')} |`);
    L.push(`| result document | ${kib(s.resultBytes)} (limit 2 MiB) |`);
    L.push(`| Messages API requests served | ${s.requests.toLocaleString('en')} |`, '');
    if (s.subtasks >= 10_000)
      targets.push(
        `| 10,000-subtask job completes, worker RSS < 1 GiB | completed; ${fmt(s.peakRssMiB, 0, ' MiB')} | ${verdict(s.peakRssMiB.max < 1024)} |`,
      );
    else
      targets.push(
        `| 10,000-subtask job completes, worker RSS < 1 GiB | not run in this profile (${s.subtasks} subtasks: ${fmt(s.peakRssMiB, 0, ' MiB')}) | — |`,
      );
  }
  if (results.recovery) {
    const r = results.recovery;
    L.push('## 4. Recovery', '');
    L.push(
      `A worker process is SIGKILLed once ${r.concurrency} subtasks have finished and the next wave is in flight (L = ${r.latencyMs} ms,`,
    );
    L.push(
      `C = ${r.concurrency}, heartbeat timeout ${r.heartbeatSeconds} s); a new worker process is started at once. Recovery = SIGKILL → the`,
    );
    L.push("next ActivityTaskCompleted event in the job's history (the server's clock, same machine).", '');
    L.push('| figure | value |', '|---|---:|');
    L.push(`| SIGKILL → next finished subtask | ${fmt(scaleStat(r.recoveryMs, 1 / 1000), 2, ' s')} |`);
    L.push(
      `| SIGKILL → first retried call started on the new worker | ${fmt(scaleStat(r.retryStartMs, 1 / 1000), 2, ' s')} |`,
    );
    L.push(
      `| new worker process start-up (spawn → polling; overlaps the heartbeat wait) | ${fmt(scaleStat(r.workerStartMs, 1 / 1000), 2, ' s')} |`,
    );
    L.push(`| subtasks in flight at the kill | ${fmt(r.inFlight, 0)} |`);
    L.push(`| subtask calls repeated | ${fmt(r.repeated, 0)} |`);
    L.push(`| finished subtasks requested again | ${r.repeatedFinished} |`, '');
    const ok =
      r.recoveryMs.max <= (r.heartbeatSeconds + 2) * 1000 &&
      r.repeated.max <= r.inFlight.min &&
      r.repeatedFinished === 0;
    targets.push(
      `| recovery ≤ heartbeat timeout + 2 s (= ${r.heartbeatSeconds + 2} s), repeats ≤ in flight | ${fmt(scaleStat(r.recoveryMs, 1 / 1000), 2, ' s')}; repeats ${fmt(r.repeated, 0)} of ${fmt(r.inFlight, 0)} in flight | ${verdict(ok)} |`,
    );
  }
  if (results.cost) {
    const c = results.cost;
    L.push('## 5. Cost', '');
    L.push(
      `A reference job of ${c.subtasks} subtasks (simulated token counts, list prices from shared/pricing.ts): planned and synthesized by`,
    );
    L.push(`${PLANNER}, subtasks on ${WORKER} — against the same job with the subtasks on ${PLANNER} too.`, '');
    L.push('| setup | model | input tokens | output tokens | cost |', '|---|---|---:|---:|---:|');
    for (const [name, u] of [
      ['Sonnet plans, Haiku works', c.mixed],
      ['all on Sonnet', c.allSonnet],
    ] as const) {
      for (const [model, m] of Object.entries(u.byModel))
        L.push(`| ${name} | ${model} | ${m.inputTokens} | ${m.outputTokens} | $${m.costUsd.toFixed(4)} |`);
      L.push(`| ${name} | **total** | | | **$${u.costUsd.toFixed(4)}** |`);
    }
    L.push(
      '',
      `Sonnet-plans-Haiku-works costs **${((c.mixed.costUsd / c.allSonnet.costUsd) * 100).toFixed(0)} %** of the all-Sonnet job.`,
      '',
    );
  }
  if (results.ratelimit) {
    L.push(...rateLimitMarkdown(results.ratelimit, '## 6. Rate limits'));
    const on = results.ratelimit.rows.find((r) => r.mode === 'admission')!;
    targets.push(
      `| rate limits: goodput ≥ 0.9 of the limit-implied maximum | ${fmt(on.ofMaximum, 3)} | ${verdict(on.ofMaximum.median >= 0.9)} |`,
      `| rate limits: ≤ 2 429s per 100 calls | ${fmt(on.per100Calls, 1)} | ${verdict(on.per100Calls.median <= 2)} |`,
    );
  }
  L.push('## Targets', '', '| target | measured | |', '|---|---|---|', ...targets, '');
  return L.join('\n');
}

function scaleStat(s: Stat, k: number): Stat {
  return { ...s, median: s.median * k, min: s.min * k, max: s.max * k };
}
function kib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(0)} KiB` : 'n/a';
}

// ---------------------------------------------------------------- main

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

  temporalBin = await ensureTemporalBinary();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'renga-bench-'));
  log(`profile ${profile.name}; sections ${only.join(', ')}; bundling workflow code`);
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  const [server, sim] = await Promise.all([
    startDevServer({ uiPort: null, dynamicConfig: serverDynamicConfig() }),
    startSimulator({ apiKey: 'sim-key' }),
  ]);
  const connection = await Connection.connect({ address: server.address });
  const ctx: Ctx = {
    server,
    sim,
    client: new Client({ connection, namespace: server.namespace }),
    bundlePath,
    blobDir: path.join(tmp, 'blobs'),
    workers: [],
  };
  const results: Results = {};
  try {
    if (only.includes('overhead')) results.overhead = await overhead(ctx, profile.overhead);
    if (only.includes('throughput')) results.throughput = await throughput(ctx, profile.throughput);
    if (only.includes('scale')) results.scale = await scale(ctx, profile.scale);
    if (only.includes('recovery')) results.recovery = await recovery(ctx, profile.recovery);
    if (only.includes('cost')) results.cost = await cost(ctx);
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
    await Promise.all(ctx.workers.map((w) => w.kill('SIGKILL')));
    await connection.close();
    await Promise.all([server.stop(), sim.close()]);
    rmSync(tmp, { recursive: true, force: true });
  }

  const md = report(profile, results, command, startedAt, (performance.now() - t0) / 1000);
  console.log(md);
  if (!write) return;
  const file = path.join(REPO, 'BENCHMARKS.md');
  const kept = existsSync(file) ? readFileSync(file, 'utf8').split(ANALYSIS_MARKER)[1] : undefined;
  writeFileSync(file, `${md}\n${ANALYSIS_MARKER}\n${kept ?? '\n## Analysis\n\n(written by hand after a run)\n'}`);
  if (results.overhead) {
    mkdirSync(path.join(REPO, 'docs'), { recursive: true });
    const svg = overheadChart(
      [
        {
          name: 'renga (Temporal, durable)',
          color: '#2563eb',
          points: results.overhead.map((r) => ({ n: r.n, ratio: r.renga })),
        },
        {
          name: 'baseline (in-process Promise.all)',
          color: '#6b7280',
          points: results.overhead.map((r) => ({ n: r.n, ratio: r.baseline })),
        },
      ],
      {
        title: `Overhead vs fan-out (L = ${profile.overhead.latencyMs} ms, C = ${profile.overhead.concurrency})`,
        target: 1.05,
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
