/**
 * `npx tsx bench/steps.ts [--subtasks=100] [--concurrency=16] [--latency=1000] [--shard-size=N] [--timeline]`
 *
 * Where a lane's time goes between two calls, renga against the naive workflow (bench/naive), from
 * each job's history (server clock): activity dispatch (scheduled → started), the activity around
 * its call (started → completed, less the simulated latency), and the workflow task that schedules
 * the next call (completion → task scheduled → started → completed). Medians in ms. A renga job
 * larger than its shard size runs as child workflows: each shard gets a column of its own.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { stat } from './stats';
import { log, newQueue, runJob, setLatency, spawnWorker } from './context';
import { runNaiveJob, spawnNaiveWorker } from './naive/run';
import { startBenchStack } from './stack';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const arg = (name: string, dflt: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);

/** `job`: false for a shard, whose first and last activities are a subtask and its results' blob, not plan and synthesis. */
function steps(events: HistoryEvent[], latencyMs: number, job = true): Record<string, number> {
  const t = (e: HistoryEvent) => tsToMs(e.eventTime);
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const dispatch: number[] = [];
  const around: number[] = [];
  const toTask: number[] = [];
  const taskQueued: number[] = [];
  const taskRun: number[] = [];
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (started) dispatch.push(t(e) - t(byId.get(Number(started.scheduledEventId))!));
    const done = e.activityTaskCompletedEventAttributes;
    if (done) around.push(t(e) - t(byId.get(Number(done.startedEventId))!) - latencyMs);
    if (e.workflowTaskScheduledEventAttributes) {
      const prev = byId.get(Number(e.eventId) - 1);
      if (prev?.activityTaskCompletedEventAttributes) toTask.push(t(e) - t(prev));
    }
    const wfStarted = e.workflowTaskStartedEventAttributes;
    if (wfStarted) taskQueued.push(t(e) - t(byId.get(Number(wfStarted.scheduledEventId))!));
    const wfDone = e.workflowTaskCompletedEventAttributes;
    if (wfDone) taskRun.push(t(e) - t(byId.get(Number(wfDone.startedEventId))!));
  }
  const med = (xs: number[]) => (xs.length ? stat(xs).median : NaN);
  const acts = events.filter((e) => e.activityTaskCompletedEventAttributes);
  const callMs = (e: HistoryEvent | undefined) =>
    e ? t(e) - t(byId.get(Number(e.activityTaskCompletedEventAttributes!.startedEventId))!) : NaN;
  const scheduledOf = (e: HistoryEvent) => byId.get(Number(e.activityTaskCompletedEventAttributes!.scheduledEventId))!;
  return {
    'activity scheduled → started': med(dispatch),
    'activity started → completed, less L': med(around),
    'activity completed → workflow task scheduled': med(toTask),
    'workflow task scheduled → started': med(taskQueued),
    'workflow task started → completed': med(taskRun),
    'workflow tasks': taskRun.length,
    'run: started → first activity scheduled': acts[0] ? t(scheduledOf(acts[0])) - t(events[0]!) : NaN,
    'plan activity: started → completed (L included)': job ? callMs(acts[0]) : NaN,
    'synthesis activity: started → completed (L included)': job ? callMs(acts[acts.length - 1]) : NaN,
    'run: started → completed': t(events[events.length - 1]!) - t(events[0]!),
    'history events': events.length,
  };
}

/** The event's attributes field, e.g. activityTaskScheduled. */
function eventName(e: HistoryEvent): string {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]);
  const attrs = key ? ((e as Record<string, unknown>)[key] as { activityType?: { name?: string } }) : null;
  return `${key?.replace(/EventAttributes$/, '') ?? '?'}${attrs?.activityType?.name ? ` ${attrs.activityType.name}` : ''}`;
}

async function main(): Promise<void> {
  const n = arg('subtasks', 100);
  const c = arg('concurrency', 16);
  const L = arg('latency', 1000);
  // renga's shard size (default 500): --shard-size=1000 runs a 1,000-subtask job in one run, as the naive one does.
  const shardSize = arg('shard-size', 0);
  const { ctx, stop } = await startBenchStack();
  try {
    setLatency(ctx, L, L);
    const q = newQueue('steps');
    const nq = newQueue('steps-naive');
    await Promise.all([spawnWorker(ctx, q, Math.max(100, c)), spawnNaiveWorker(ctx, nq)]);
    await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 2 });
    await runNaiveJob(ctx, nq, { job: 'warm-up', maxSubtasks: 2, concurrency: 2 });
    const job = `Steps: describe ${n} facts about rivers`;
    const rj = await runJob(ctx, q, { job, maxSubtasks: n, concurrency: c, ...(shardSize ? { shardSize } : {}) });
    const naiveId = `naive-steps-${process.pid}`;
    const naiveMs = await runNaiveJob(ctx, nq, { job, maxSubtasks: n, concurrency: c }, naiveId);
    log(`renga ${(rj.ms / 1000).toFixed(2)} s, naive ${(naiveMs / 1000).toFixed(2)} s`);
    const histories = await Promise.all([
      ctx.client.workflow.getHandle(rj.id).fetchHistory(),
      ctx.client.workflow.getHandle(naiveId).fetchHistory(),
    ]);
    const [r, nv] = histories.map((h) => steps(h.events ?? [], L));
    // A sharded job's subtasks run in its children (workflows/shard-fanout.ts names them).
    const shards = await Promise.all(
      (rj.doc.shards ?? []).map(async (s) => {
        const h = await ctx.client.workflow.getHandle(`${rj.id}/shard-${s.index + 1}`).fetchHistory();
        return steps(h.events ?? [], L, false);
      }),
    );
    console.log(
      `N = ${n}, C = ${c}, L = ${L} ms; makespan renga ${(rj.ms / 1000).toFixed(2)} s, naive ${(naiveMs / 1000).toFixed(2)} s\n`,
    );
    const shardHeads = shards.map((_, i) => ` renga shard ${i + 1} |`).join('');
    console.log(`| step (median, ms) | renga |${shardHeads} naive |\n|---|---:|${'---:|'.repeat(shards.length)}---:|`);
    const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(0));
    for (const k of Object.keys(r!))
      console.log(`| ${k} | ${cell(r![k])} |${shards.map((s) => ` ${cell(s[k])} |`).join('')} ${cell(nv![k])} |`);
    // What the client adds around the run: starting it, and reading the result once it has closed.
    const clientExtra = (ms: number, v: Record<string, number>) => ms - v['run: started → completed']!;
    console.log(
      `| client wall − run (start and result) | ${clientExtra(rj.ms, r!).toFixed(0)} | ${clientExtra(naiveMs, nv!).toFixed(0)} |`,
    );
    if (process.argv.includes('--timeline')) {
      for (const [name, h] of [
        ['renga', histories[0]!],
        ['naive', histories[1]!],
      ] as const) {
        const events = h.events ?? [];
        const t0 = tsToMs(events[0]!.eventTime);
        console.log(`\n${name} timeline (ms from the run's start):`);
        for (const e of events) console.log(`  ${(tsToMs(e.eventTime) - t0).toFixed(0).padStart(6)}  ${eventName(e)}`);
      }
    }
  } finally {
    await stop();
  }
}

main().catch((err) => {
  console.error('steps FAILED:', err);
  process.exit(1);
});
