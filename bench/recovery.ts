/** Section 4, recovery: a worker SIGKILLed mid-job, time to finish and work redone. */
import { tsToMs } from '@temporalio/common/lib/time';
import { getResult, startJob } from '../client/api';
import { progressQuery } from '../workflows/definitions';
import { stat, type Stat } from './stats';
import type { Profile } from './profiles';
import { type Ctx, newQueue, log, spawnWorker, stopWorkers, rcFor, setLatency } from './context';

export interface RecoveryResult {
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

export async function recovery(ctx: Ctx, p: Profile['recovery']): Promise<RecoveryResult> {
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
