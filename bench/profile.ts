/**
 * `npx tsx bench/profile.ts [--subtasks=1000] [--concurrency=64] [--shard-size=N]`
 *
 * Where one zero-latency job's cost goes, per subtask: workflow tasks, history events by type and
 * bytes, activity summaries, search-attribute upserts, heartbeat and other RPCs the server served
 * (its Prometheus metrics), and CPU of the worker and the server. One renga worker process with
 * renga's defaults, on the benchmark's stack (bench/stack.ts). Prints a Markdown section.
 */
import type { temporal } from '@temporalio/proto';
import { temporal as proto } from '@temporalio/proto';
import { freePort } from '../temporal/dev-server';
import { cpuSeconds, log, newQueue, runJob, setLatency, spawnWorker, stopWorkers } from './context';
import { startBenchStack } from './stack';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const arg = (name: string, dflt: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);

/** Sum of `service_requests` by operation (Temporal server metrics). */
async function serverRequests(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('service_requests{')) continue;
    const op = /operation="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (op && Number.isFinite(value)) out.set(op, (out.get(op) ?? 0) + value);
  }
  return out;
}

function eventType(e: HistoryEvent): string {
  const name = proto.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
  return name.replace(/^EVENT_TYPE_/, '');
}

async function main(): Promise<void> {
  const subtasks = arg('subtasks', 1000);
  const concurrency = arg('concurrency', 64);
  const shardSize = arg('shard-size', 0);
  const metricsPort = await freePort();
  const { ctx, stop } = await startBenchStack({ metricsPort });
  try {
    setLatency(ctx, 0, 0);
    const q = newQueue('profile');
    const w = await spawnWorker(ctx, q, 100);
    await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 4 });
    const rpcBefore = await serverRequests(metricsPort);
    const cpuBefore = [cpuSeconds(w.pid), cpuSeconds(ctx.server.pid)];
    log(`profile: one job of ${subtasks} subtasks, concurrency ${concurrency}, zero latency`);
    const rj = await runJob(ctx, q, {
      // The scale section's text: the simulator's plan for 10,000 subtasks of it stays under the 2 MiB
      // activity-result limit (the bench workers run without the claim-check codec).
      job: `Scale run 0: one line on each item`,
      maxSubtasks: subtasks,
      concurrency,
      ...(shardSize ? { shardSize } : {}),
    });
    const cpu = [cpuSeconds(w.pid) - cpuBefore[0]!, cpuSeconds(ctx.server.pid) - cpuBefore[1]!];
    const rpcAfter = await serverRequests(metricsPort);
    const ids = [rj.id, ...(rj.doc.shards ?? []).map((s) => `${rj.id}/shard-${s.index + 1}`)];
    const counts = new Map<string, number>();
    let events = 0;
    let bytes = 0;
    let summaries = 0;
    let summaryBytes = 0;
    const wftFailures = new Map<string, number>();
    let parent: HistoryEvent[] = [];
    for (const id of ids) {
      const handle = ctx.client.workflow.getHandle(id);
      const [history, d] = await Promise.all([handle.fetchHistory(), handle.describe()]);
      if (id === rj.id) parent = history.events ?? [];
      bytes += d.historySize ?? 0;
      for (const e of history.events ?? []) {
        events += 1;
        counts.set(eventType(e), (counts.get(eventType(e)) ?? 0) + 1);
        const wftFailed = e.workflowTaskFailedEventAttributes;
        if (wftFailed) {
          // A failed workflow task costs a full replay on the next one: say why it failed.
          const cause = proto.api.enums.v1.WorkflowTaskFailedCause[wftFailed.cause ?? 0] ?? String(wftFailed.cause);
          wftFailures.set(cause, (wftFailures.get(cause) ?? 0) + 1);
        }
        const summary = e.userMetadata?.summary?.data;
        if (summary) {
          summaries += 1;
          summaryBytes += summary.length;
        }
      }
    }
    // The job's phases from its own history (the server's clock): planning until the first subtask or
    // shard starts, the fan-out until the last one ends, the synthesis after it.
    const at = (e: HistoryEvent | undefined) =>
      e?.eventTime?.seconds ? Number(e.eventTime.seconds) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : NaN;
    const fanStart = parent.find(
      (e) =>
        e.startChildWorkflowExecutionInitiatedEventAttributes ||
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'runSubtask',
    );
    const synthStart = parent.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'synthesize');
    const t0 = at(parent[0]);
    const phases = `planning ${((at(fanStart) - t0) / 1000).toFixed(1)} s, fan-out ${((at(synthStart) - at(fanStart)) / 1000).toFixed(1)} s, synthesis ${((at(parent[parent.length - 1]) - at(synthStart)) / 1000).toFixed(1)} s`;
    const per = (x: number) => (x / subtasks).toFixed(2);
    const L: string[] = [];
    L.push(
      `One job of ${subtasks} subtasks at zero latency, concurrency ${concurrency}, one worker process; ` +
        `${ids.length} workflow run(s) (${ids.length > 1 ? 'the job and its shards' : 'no shards'}); ` +
        `${(rj.ms / 1000).toFixed(1)} s, ${(subtasks / (rj.ms / 1000)).toFixed(0)} subtasks/s: ${phases}. Per subtask:`,
      '',
      '| figure | per subtask | whole job |',
      '|---|---:|---:|',
      `| history events | ${per(events)} | ${events} |`,
      `| history bytes | ${per(bytes)} | ${bytes} |`,
      `| workflow tasks (WorkflowTaskCompleted) | ${per(counts.get('WORKFLOW_TASK_COMPLETED') ?? 0)} | ${counts.get('WORKFLOW_TASK_COMPLETED') ?? 0} |`,
      `| search-attribute upserts | ${per(counts.get('UPSERT_WORKFLOW_SEARCH_ATTRIBUTES') ?? 0)} | ${counts.get('UPSERT_WORKFLOW_SEARCH_ATTRIBUTES') ?? 0} |`,
      `| activity summaries (user metadata) | ${per(summaries)} | ${summaries} (${summaryBytes} bytes) |`,
      ...[...wftFailures].map(([cause, n]) => `| workflow tasks failed: ${cause} | ${per(n)} | ${n} |`),
    );
    const rpc = (op: string) => (rpcAfter.get(op) ?? 0) - (rpcBefore.get(op) ?? 0);
    for (const op of [
      'RecordActivityTaskHeartbeat',
      'PollWorkflowTaskQueue',
      'RespondWorkflowTaskCompleted',
      'PollActivityTaskQueue',
      'RespondActivityTaskCompleted',
    ])
      L.push(`| server RPCs: ${op} | ${per(rpc(op))} | ${rpc(op)} |`);
    L.push(
      `| worker CPU | ${((cpu[0]! / subtasks) * 1000).toFixed(2)} ms | ${cpu[0]!.toFixed(1)} s |`,
      `| server CPU | ${((cpu[1]! / subtasks) * 1000).toFixed(2)} ms | ${cpu[1]!.toFixed(1)} s |`,
      `| worker peak RSS | | ${(w.peakRss() / 2 ** 20).toFixed(0)} MiB |`,
      '',
      'History events by type (whole job):',
      '',
      '| event type | count | per subtask |',
      '|---|---:|---:|',
      ...[...counts.entries()].sort((a, b) => b[1] - a[1]).map(([t, n]) => `| ${t} | ${n} | ${per(n)} |`),
    );
    console.log(L.join('\n'));
    // SIGTERM, so a worker run with RENGA_BENCH_WORKER_NODE_ARGS=--cpu-prof writes its profile.
    await stopWorkers([w]);
  } finally {
    await stop();
  }
}

main().catch((err) => {
  console.error('profile FAILED:', err);
  process.exit(1);
});
