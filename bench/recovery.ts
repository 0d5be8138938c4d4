/**
 * Section 4, recovery: a worker SIGKILLed mid-job, with renga's defaults (unless the profile sets a
 * heartbeat timeout). Recovery = the job's makespan with the kill minus the same job's makespan
 * without it, so it includes every stall after the kill (the heartbeat timeout, the retry backoff,
 * the first workflow task waiting on the dead worker's sticky queue), plus work redone.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import { getResult, startJob } from '../client/api';
import type { JobInputArg } from '../shared/schemas';
import { progressQuery } from '../workflows/definitions';
import { stat, type Stat } from './stats';
import type { Profile } from './profiles';
import { performance } from 'node:perf_hooks';
import { READY } from './worker-proc';
import { type Ctx, newQueue, log, spawnWorker, stopWorkers, rcFor, runJob, setLatency } from './context';

export interface RecoveryResult {
  /** null: renga's default. */
  heartbeatSeconds: number | null;
  /** Makespan with the kill minus without it. */
  extraMs: Stat;
  cleanMs: Stat;
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
  const extra: number[] = [];
  const clean: number[] = [];
  let repeatedFinished = 0;
  for (let i = 0; i < p.runs; i++) {
    const input: JobInputArg = {
      job: `Recovery run ${i}: explain facts`,
      maxSubtasks: p.subtasks,
      concurrency: p.concurrency,
      ...(p.heartbeatSeconds ? { heartbeatTimeoutSeconds: p.heartbeatSeconds } : {}),
    };
    // The same job without a crash, on a fresh worker as the crashed one is, for the makespan to beat.
    const cq = newQueue('recovery-clean');
    const cw = await spawnWorker(ctx, cq, 100);
    await runJob(ctx, cq, { job: 'warm-up', maxSubtasks: 2 });
    const cleanRun = await runJob(ctx, cq, input);
    await stopWorkers([cw]);
    clean.push(cleanRun.ms);

    const q = newQueue('recovery');
    const first = await spawnWorker(ctx, q, 100);
    // The replacement process is loaded beforehand and starts its worker at the kill.
    const second = await spawnWorker(ctx, q, 100, { startOnSignal: true });
    await runJob(ctx, q, { job: 'warm-up', maxSubtasks: 2 });
    ctx.sim.clearLog();
    const rc = rcFor(ctx, q);
    const startedAt = Date.now();
    const id = await startJob(rc, input);
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
    process.kill(second.pid, 'SIGUSR2');
    const t0 = performance.now();
    while (!second.output().includes(READY)) {
      if (performance.now() - t0 > 60_000) throw new Error(`replacement worker did not start:\n${second.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    starts.push(performance.now() - t0);
    const doc = await getResult(rc, id);
    const crashedMs = Date.now() - startedAt;
    extra.push(crashedMs - cleanRun.ms);
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
      `recovery run ${i + 1}: makespan ${(crashedMs / 1000).toFixed(2)} s against ${(cleanRun.ms / 1000).toFixed(2)} s without the kill; next subtask finished ${((next - killedAt) / 1000).toFixed(2)} s after SIGKILL; ${repeated.length} repeated, ${snapshot.running} in flight`,
    );
    await stopWorkers([second]);
  }
  return {
    heartbeatSeconds: p.heartbeatSeconds ?? null,
    extraMs: stat(extra),
    cleanMs: stat(clean),
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
