/** Runs the naive Temporal baseline (bench/naive) from the benchmark: its bundle, its workers, its jobs. */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchWorker, type Ctx, spawnWorkerProcess } from '../context';
import { NAIVE_READY, type NaiveWorkerConfig } from './worker';
import type { NaiveJobInput, naiveJob } from './workflows';

let seq = 0;

async function naiveBundle(ctx: Ctx): Promise<string> {
  if (ctx.naiveBundlePath) return ctx.naiveBundlePath;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const file = path.join(path.dirname(ctx.bundlePath), 'naive-bundle.js');
  writeFileSync(file, code);
  ctx.naiveBundlePath = file;
  return file;
}

export async function spawnNaiveWorker(ctx: Ctx, taskQueue: string): Promise<BenchWorker> {
  const cfg: NaiveWorkerConfig = {
    address: ctx.server.address,
    namespace: ctx.server.namespace,
    taskQueue,
    simUrl: ctx.sim.url,
    bundlePath: await naiveBundle(ctx),
  };
  return spawnWorkerProcess(ctx, path.join(__dirname, 'worker.ts'), JSON.stringify(cfg), NAIVE_READY);
}

/** One naive job, start to result on the client, in ms; fails the benchmark if it plans the wrong size. */
export async function runNaiveJob(
  ctx: Ctx,
  taskQueue: string,
  input: NaiveJobInput,
  workflowId = `naive-${process.pid}-${++seq}`,
): Promise<number> {
  const t0 = performance.now();
  const out = await ctx.client.workflow.execute<typeof naiveJob>('naiveJob', {
    taskQueue,
    workflowId,
    args: [input],
  });
  const ms = performance.now() - t0;
  const { subtasks } = out;
  if (subtasks !== input.maxSubtasks) throw new Error(`naive job planned ${subtasks}, expected ${input.maxSubtasks}`);
  return ms;
}
