/** What every benchmark section shares: the stack, worker processes, job runs and process stats. */
import { type Client } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { getResult, startJob, type RengaClient } from '../client/api';
import { loadClientConfig } from '../shared/config';
import type { JobInputArg, ResultDocument } from '../shared/schemas';
import { spawnUntilReady } from '../shared/spawn-ready';
import type { Simulator } from '../simulator/types';
import type { DevServer } from '../temporal/dev-server';
import { LOADED, READY, type BenchWorkerConfig } from './worker-proc';
import { PLANNER, WORKER } from './profiles';

export const REPO = path.resolve(__dirname, '..');

export interface Ctx {
  server: DevServer;
  sim: Simulator;
  client: Client;
  bundlePath: string;
  /** The naive baseline's own workflow bundle (bench/naive), built on first use. */
  naiveBundlePath?: string;
  blobDir: string;
  workers: BenchWorker[];
}

export interface BenchWorker {
  pid: number;
  startMs: number;
  /** Everything it printed so far. */
  output(): string;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRss(): number;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export let queueSeq = 0;
export const newQueue = (name: string) => `bench-${name}-${process.pid}-${++queueSeq}`;

export function log(line: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** RENGA_BENCH_EAGER=1 turns on the server's eager activity dispatch (off by default in Temporal), to compare. */
export function serverDynamicConfig(): Record<string, boolean> {
  return process.env.RENGA_BENCH_EAGER === '1' ? { 'system.enableActivityEagerExecution': true } : {};
}

/** Extra node flags for worker processes, e.g. RENGA_BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them. */
export function workerNodeArgs(): string[] {
  return (process.env.RENGA_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

export async function spawnWorker(
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
    // The simulated planner's output ceiling: 1,000 subtasks a page (activities/plan.ts), so every fan-out
    // cell plans in one call like the naive workflow, and the 10,000-subtask job in ten pages. One page of
    // 10,000 would make a plan result over Temporal's 2 MiB payload limit without the claim-check codec,
    // which bench workers run without.
    planMaxTokens: 256_000,
  };
  const ready = cfg.startOnSignal ? LOADED : READY;
  return spawnWorkerProcess(ctx, path.join(__dirname, 'worker-proc.ts'), JSON.stringify(cfg), ready);
}

/** Starts `script` (a worker of renga's or of a baseline's) in its own process, once it prints `ready`. */
export async function spawnWorkerProcess(ctx: Ctx, script: string, arg: string, ready: string): Promise<BenchWorker> {
  const t0 = performance.now();
  const proc = await spawnUntilReady(process.execPath, [...workerNodeArgs(), '--import', 'tsx', script, arg], {
    cwd: REPO,
    ready,
    what: 'bench worker',
  });
  const pid = proc.child.pid!;
  const w: BenchWorker = {
    pid,
    startMs: performance.now() - t0,
    output: () => proc.output(),
    peakRss: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : NaN;
    },
    kill: (signal) => proc.kill(signal),
  };
  ctx.workers.push(w);
  return w;
}

export async function stopWorkers(ws: BenchWorker[]): Promise<void> {
  await Promise.all(ws.map((w) => w.kill('SIGTERM')));
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of the line, in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export function rcFor(ctx: Ctx, taskQueue: string): RengaClient {
  return {
    client: ctx.client,
    config: { ...loadClientConfig({}), TEMPORAL_ADDRESS: ctx.server.address, RENGA_TASK_QUEUE: taskQueue },
    close: async () => undefined,
  };
}

/** Runs one job to its end; anything but `completed` fails the benchmark. */
export async function runJob(
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

export function setLatency(ctx: Ctx, workerMs: number, plannerMs: number): void {
  ctx.sim.configure({ latencyMs: { [WORKER]: workerMs, [PLANNER]: plannerMs, '*': 0 } });
}
