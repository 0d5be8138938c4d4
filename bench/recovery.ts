/**
 * Section 4, recovery: a worker SIGKILLed mid-job, with renga's defaults (unless the profile sets a
 * heartbeat timeout). Recovery = the job's makespan with the kill minus the same job's makespan
 * without it, so it includes every stall after the kill (the heartbeat timeout, the retry backoff,
 * the first workflow task waiting on the dead worker's sticky queue), plus work redone. Measured twice:
 * with the replacement on the dead worker's machine (it reclaims the dead worker's calls at once,
 * worker/reclaim.ts) and as if it ran elsewhere (the calls wait out their heartbeat timeout).
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
  /** The same when the replacement cannot see the dead worker (another host): the heartbeat timeout decides. */
  elsewhereMs: Stat;
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

interface KillRun {
  crashedMs: number;
  nextMs: number;
  retryStartMs: number;
  workerStartMs: number;
  inFlight: number;
  repeated: number;
  repeatedFinished: number;
}

export async function recovery(ctx: Ctx, p: Profile['recovery']): Promise<RecoveryResult> {
  setLatency(ctx, p.latencyMs, 100);
  const runs: KillRun[] = [];
  const elsewhere: number[] = [];
  const extra: number[] = [];
  const clean: number[] = [];
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

    const run = await killRun(ctx, p, input, true);
    runs.push(run);
    extra.push(run.crashedMs - cleanRun.ms);
    log(
      `recovery run ${i + 1}: makespan ${(run.crashedMs / 1000).toFixed(2)} s against ${(cleanRun.ms / 1000).toFixed(2)} s without the kill; next subtask finished ${(run.nextMs / 1000).toFixed(2)} s after SIGKILL; ${run.repeated} repeated, ${run.inFlight} in flight`,
    );
    // The same kill when the replacement cannot see the dead process (another host or container).
    const far = await killRun(ctx, p, input, false);
    elsewhere.push(far.crashedMs - cleanRun.ms);
    log(`recovery run ${i + 1}, replacement elsewhere: makespan ${(far.crashedMs / 1000).toFixed(2)} s`);
  }
  return {
    heartbeatSeconds: p.heartbeatSeconds ?? null,
    extraMs: stat(extra),
    elsewhereMs: stat(elsewhere),
    cleanMs: stat(clean),
    latencyMs: p.latencyMs,
    concurrency: p.concurrency,
    recoveryMs: stat(runs.map((r) => r.nextMs)),
    retryStartMs: stat(runs.map((r) => r.retryStartMs)),
    workerStartMs: stat(runs.map((r) => r.workerStartMs)),
    inFlight: stat(runs.map((r) => r.inFlight)),
    repeated: stat(runs.map((r) => r.repeated)),
    repeatedFinished: runs.reduce((a, r) => a + r.repeatedFinished, 0),
  };
}

/**
 * One job whose worker is SIGKILLed once a wave is done and the next in flight; a replacement,
 * loaded beforehand, starts at the kill on the same machine. `reclaim` false: the replacement does
 * not look for the dead worker's calls (worker/reclaim.ts), as one on another host could not.
 */
async function killRun(ctx: Ctx, p: Profile['recovery'], input: JobInputArg, reclaim: boolean): Promise<KillRun> {
  const q = newQueue('recovery');
  const first = await spawnWorker(ctx, q, 100);
  const second = await spawnWorker(ctx, q, 100, { startOnSignal: true, reclaimOnStart: reclaim });
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
  const workerStartMs = performance.now() - t0;
  const doc = await getResult(rc, id);
  const crashedMs = Date.now() - startedAt;
  if (doc.status !== 'completed') throw new Error(`recovery job ${id} ended ${doc.status}`);
  const history = await handle.fetchHistory();
  const next = (history.events ?? [])
    .filter((e) => e.activityTaskCompletedEventAttributes && tsToMs(e.eventTime) > killedAt)
    .map((e) => tsToMs(e.eventTime))
    .sort((a, b) => a - b)[0]!;
  // The retried attempt's start: what is left of recovery once the call's own latency is taken out.
  const retried = (history.events ?? [])
    .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
    .map((e) => tsToMs(e.eventTime))
    .sort((a, b) => a - b)[0]!;
  const counts = new Map<string, number>();
  for (const e of ctx.sim.log) {
    const sid = /^Subtask (s\d+) of \d+:/m.exec(e.lastUserText)?.[1];
    if (sid) counts.set(sid, (counts.get(sid) ?? 0) + 1);
  }
  const repeated = [...counts.entries()].filter(([, c]) => c > 1).map(([sid]) => sid);
  await stopWorkers([second]);
  return {
    crashedMs,
    nextMs: next - killedAt,
    retryStartMs: retried - killedAt,
    workerStartMs,
    inFlight: snapshot.running,
    repeated: repeated.length,
    repeatedFinished: repeated.filter((sid) => snapshot.completed.includes(sid)).length,
  };
}
