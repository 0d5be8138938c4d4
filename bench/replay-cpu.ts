/**
 * `npx tsx bench/replay-cpu.ts [--subtasks=500] [--concurrency=64] [--runs=5] [--history=FILE] [--save=FILE]`
 *
 * The workflow code's own CPU per subtask, measured by replaying one recorded zero-latency job in this
 * process (Worker.runReplayHistory): no server, no activities, no other process competing, so two
 * versions of the workflow code can be compared on the same history even on a busy machine. Records
 * the history on the benchmark's stack unless `--history` names a saved one (`--save` keeps it).
 */
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readFileSync, writeFileSync } from 'node:fs';
import { log, newQueue, runJob, setLatency, spawnWorker, stopWorkers } from './context';
import { benchAsDeployed } from './source-maps';
import { startBenchStack } from './stack';
import { bundleRengaWorkflows } from '../worker/workflow-bundle';

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

async function record(subtasks: number, concurrency: number): Promise<{ id: string; history: unknown }> {
  const { ctx, stop } = await startBenchStack();
  try {
    setLatency(ctx, 0, 0);
    const q = newQueue('replay-cpu');
    const w = await spawnWorker(ctx, q, 100);
    const rj = await runJob(ctx, q, { job: `Replay CPU: ${subtasks} items`, maxSubtasks: subtasks, concurrency });
    await stopWorkers([w]);
    const history = await ctx.client.workflow.getHandle(rj.id).fetchHistory();
    return { id: rj.id, history: JSON.parse(historyToJSON(history)) as unknown };
  } finally {
    await stop();
  }
}

async function main(): Promise<void> {
  const subtasks = Number(arg('subtasks') ?? 500);
  const runs = Number(arg('runs') ?? 5);
  const file = arg('history');
  const saved = file
    ? (JSON.parse(readFileSync(file, 'utf8')) as { id: string; history: unknown })
    : await record(subtasks, Number(arg('concurrency') ?? 64));
  const save = arg('save');
  if (save) writeFileSync(save, JSON.stringify(saved));
  const history = historyFromJSON(saved.history) as temporal.api.history.v1.IHistory;
  const events = history.events?.length ?? 0;
  const { code } = await bundleRengaWorkflows();
  benchAsDeployed();
  const perRun: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const cpu0 = process.cpuUsage();
    await Worker.runReplayHistory({ workflowBundle: { code } }, history, saved.id);
    const { user, system } = process.cpuUsage(cpu0);
    // The first replay warms the thread pool and the bundle's VM context: not counted.
    if (i > 0) perRun.push((user + system) / 1000);
  }
  perRun.sort((a, b) => a - b);
  const median = perRun[Math.floor(perRun.length / 2)]!;
  log(
    `replay of ${events} events (${subtasks} subtasks): CPU ${median.toFixed(0)} ms median of ${runs} ` +
      `(${perRun.map((x) => x.toFixed(0)).join(', ')}), ${(median / subtasks).toFixed(3)} ms per subtask`,
  );
}

main().catch((err) => {
  console.error('replay-cpu FAILED:', err);
  process.exit(1);
});
