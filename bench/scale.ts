/** Section 3, scale: one very large job (sharded fan-out), its history size and payloads. */
import { stat, type Stat } from './stats';
import type { Profile } from './profiles';
import { type Ctx, newQueue, log, spawnWorker, stopWorkers, runJob, setLatency } from './context';

export interface ScaleResult {
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

export async function scale(ctx: Ctx, p: Profile['scale']): Promise<ScaleResult> {
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
