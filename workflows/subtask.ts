/**
 * The one path that runs one subtask, for every fan-out mode: direct lanes, each shard's lanes, and
 * the direct fallback of a Message Batch. The outcome goes to the ledger; a failure that would fail
 * every other call too (FATAL_FOR_JOB, or a request-wide 400/413: shared/failures.ts) is recorded once
 * and stops the fan-out.
 */
import {
  ApplicationFailure,
  isCancellation,
  patched,
  proxyActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { SharedContextRef, SubtaskInput, SubtaskOutput } from '../activities/types';
import { attemptOf, describeFailure, isFatalForJob, unwrap } from '../shared/failures';
import type { JobInput, Subtask } from '../shared/schemas';
import type { SubtaskLedger } from './ledger';
import type { JobSpend } from './spend';
import { agentSummaryOf, runSubagent, subagentInput } from './subagent';
import { runCallbackLanes, runLanes, type LaneEnd } from './lanes';
import { callSlots, SUBTASK_QUEUE_AHEAD, type CallSlot } from './queue-ahead';
import {
  forCall,
  rejected,
  runSubtaskPolicy,
  type PolicyCall,
  type PolicyEnd,
  type PolicyOutcome,
} from './subtask-policy';

export interface SubtaskRunner {
  ledger: SubtaskLedger;
  /** Subtasks in the whole job (the prompt says "Subtask s17 of 10000"). */
  total: number;
  shared: SharedContextRef;
  model: string | null;
  maxTokens: number;
  maxAttempts: number;
  /** From policy.ts: timeouts and the retry policy. */
  options: ActivityOptions;
  /**
   * Give each call a UI label and the activity id `subtask-<id>` (which `renga watch` reads).
   * Shards do not: their recorded histories carry the default numeric ids.
   */
  labelled: boolean;
  /** Direct jobs: the job's options, so a subtask with tools runs as a sub-agent (workflows/subagent.ts). */
  job?: JobInput;
  /** Sharded jobs: keep only this many characters of the output in the history (the rest is in the blob store). */
  previewChars?: number;
  /** Direct jobs: budget, routing and cache warm-up around every call (workflows/spend.ts). */
  spend?: JobSpend;
  /** Cancels the fan-out after a job-fatal failure. */
  stop(): void;
  /** Publishes progress after every state change (direct jobs); a no-op in shards. */
  report(): void;
}

/** patched() id: subtask lanes end each subtask by callback, not by a promise per subtask (runSubtaskLanes). */
export const SUBTASK_LANES_BY_CALLBACK = 'subtask-lanes-by-callback';

/**
 * Runs subtasks in `count` lanes, each through runOneSubtask: the one fan-out of direct jobs, shards
 * and a Message Batch's fallback. Since SUBTASK_LANES_BY_CALLBACK a subtask's outcome is recorded and
 * the lane's next subtask started from within its last call's own `then`, with no promise per subtask
 * for the lane or the outcome (each costs the SDK a stack capture). That moves the next subtask's
 * call earlier among the commands of an activation, so runs started before it keep the old lanes.
 */
export function runSubtaskLanes(
  run: SubtaskRunner,
  count: number,
  take: () => Subtask | undefined,
  opts: { waitForAll?: boolean; queueAhead?: boolean } = {},
): Promise<void> {
  if (!patched(SUBTASK_LANES_BY_CALLBACK)) return runLanes(count, take, (s) => runOneSubtask(run, s), opts);
  // Queue-ahead (workflows/queue-ahead.ts): twice the lanes, each pair sharing one slot, so a lane's
  // next call waits on the worker, not behind a workflow task. Not for sub-agents, whose turns are
  // child workflows of their own.
  if (count > 0 && opts.queueAhead && patched(SUBTASK_QUEUE_AHEAD)) {
    const slotOf = callSlots(count);
    return runCallbackLanes(2 * count, take, (s, lane, end) => runOneSubtaskThen(run, s, end, slotOf(lane)), opts);
  }
  return runCallbackLanes(count, take, (s, _lane, end) => runOneSubtaskThen(run, s, end), opts);
}

/** A subtask's model calls as the policy makes them: never handed back unmade (queue-ahead's are sent again). */
export interface SubtaskActivities {
  runSubtask(input: SubtaskInput): Promise<SubtaskOutput>;
}

/**
 * The call's activities: labelled for the Web UI and `renga watch` in direct jobs (SubtaskRunner.labelled);
 * in queue-ahead lanes, every call through its lane pair's slot.
 */
function activitiesFor(run: SubtaskRunner, subtask: Subtask, slot?: CallSlot): SubtaskActivities {
  const acts = proxyActivities<RengaActivities>(
    run.labelled
      ? { ...run.options, activityId: `subtask-${subtask.id}`, summary: `subtask ${subtask.id}: ${subtask.title}` }
      : run.options,
  );
  // Without a gate the activity always makes its call, so it never returns DeferredCall.
  if (!slot) return acts as SubtaskActivities;
  // A queued-ahead subtask counts as running once its first call holds the slot, not while it waits
  // behind another: progress and the Web UI show at most `concurrency` running.
  let started = false;
  const held = () => {
    if (started) return;
    started = true;
    run.ledger.start(subtask.id);
    run.report();
  };
  return { runSubtask: (input) => slot.call((gate) => acts.runSubtask({ ...input, gate }), held) };
}

/** A plain call's policy options where no spend control applies (shards). */
function shardPolicy(run: SubtaskRunner) {
  // Shards have no strong model to escalate to: what stays cut off or refused fails.
  return { model: run.model, strongModel: run.model, canContinue: run.previewChars === undefined };
}

/** The one model call of a subtask without spend control (shards): `c` as the policy asks for it. */
function shardCall(run: SubtaskRunner, subtask: Subtask, acts: SubtaskActivities) {
  return (c: PolicyCall) =>
    acts.runSubtask({
      subtask: forCall(subtask),
      total: run.total,
      shared: run.shared,
      model: c.model,
      maxTokens: run.maxTokens,
      ...(run.previewChars !== undefined ? { previewChars: run.previewChars } : {}),
      ...(c.prefill ? { prefill: c.prefill } : {}),
    });
}

/** One subtask, its end a promise: the lanes of runs from before SUBTASK_LANES_BY_CALLBACK. */
export function runOneSubtask(run: SubtaskRunner, subtask: Subtask): Promise<void> {
  const { ledger } = run;
  ledger.start(subtask.id);
  run.report();
  if (run.job && subtask.tools?.length) return runAgentSubtask(run, run.job, subtask);
  const acts = activitiesFor(run, subtask);
  // A plain call: its stop reason read (continued, escalated, or failed — never accepted cut off
  // or refused); in direct jobs also routed and reserved against the budget (workflows/spend.ts).
  // One `then`, not an async function and an await: each promise in workflow code costs a stack
  // trace capture (workflows/subtask-policy.ts), and this runs for every subtask.
  let outcome: Promise<PolicyOutcome>;
  try {
    outcome = run.spend
      ? run.spend.runSubtask(subtask, { total: run.total, shared: run.shared, acts })
      : runSubtaskPolicy(shardCall(run, subtask, acts), shardPolicy(run));
  } catch (err) {
    outcome = rejected(err);
  }
  return outcome.then(
    (o) => {
      ledger.record(subtask.id, o);
      run.report();
    },
    (err: unknown) => recordFailure(run, subtask, err),
  );
}

/**
 * One subtask, its end reported to `end` from within its last call's `then` (runSubtaskLanes).
 * What runOneSubtask's `then` did (record, report, or record the failure) happens there too; an
 * error in it (a cancellation, rethrown by recordFailure) stops the lane.
 */
function runOneSubtaskThen(run: SubtaskRunner, subtask: Subtask, end: LaneEnd, slot?: CallSlot): void {
  const { ledger } = run;
  const settle = (record: () => void): void => {
    try {
      record();
    } catch (err) {
      end.fail(err);
      return;
    }
    end.done();
  };
  try {
    // In queue-ahead lanes the subtask starts when its first call holds its slot (activitiesFor).
    if (!slot) {
      ledger.start(subtask.id);
      run.report();
    }
  } catch (err) {
    end.fail(err);
    return;
  }
  if (run.job && subtask.tools?.length) {
    runAgentSubtask(run, run.job, subtask).then(end.done, end.fail);
    return;
  }
  const acts = activitiesFor(run, subtask, slot);
  const policyEnd: PolicyEnd = {
    ok: (o) =>
      settle(() => {
        ledger.record(subtask.id, o);
        run.report();
      }),
    fail: (err) => settle(() => recordFailure(run, subtask, err)),
  };
  // As in runOneSubtask, a call that cannot even start is this subtask's failure, not the lane's.
  try {
    if (run.spend) run.spend.runSubtask(subtask, { total: run.total, shared: run.shared, acts }, policyEnd);
    else runSubtaskPolicy(shardCall(run, subtask, acts), shardPolicy(run), policyEnd);
  } catch (err) {
    policyEnd.fail(err);
  }
}

/** The one dispatch point for sub-agents: a subtask with tools runs as a child workflow. */
async function runAgentSubtask(run: SubtaskRunner, job: JobInput, subtask: Subtask): Promise<void> {
  const { ledger } = run;
  try {
    // Within its share of the budget when there is one (workflows/spend.ts).
    const input = subagentInput(job, subtask, run.total, run.shared);
    const lanes = Math.min(job.concurrency, ledger.count('queued') + 1);
    const out = run.spend ? await run.spend.runAgent(subtask, input, lanes, runSubagent) : await runSubagent(input);
    if (out === null) {
      ledger.settle(subtask.id, 'skipped', 'BudgetExhausted: the budget left could not pay for its first turn');
    } else {
      ledger.complete(subtask.id, out);
    }
  } catch (err) {
    recordFailure(run, subtask, err);
    return;
  }
  run.report();
}

/**
 * A subtask that failed: recorded in the ledger, and the fan-out stopped when the failure would fail
 * every other call too. A cancellation is rethrown, not recorded.
 */
function recordFailure(run: SubtaskRunner, subtask: Subtask, err: unknown): void {
  const { ledger } = run;
  if (isCancellation(err)) throw err;
  const cause = unwrap(err);
  ledger.fail(subtask.id, describeFailure(cause), attemptOf(cause) ?? run.maxAttempts, agentSummaryOf(cause));
  // A sub-agent stopped by the budget is skipped like a plain call the budget never started; its
  // finished turns still count (fail() above recorded them).
  if (cause instanceof ApplicationFailure && cause.type === 'BudgetExhausted') {
    ledger.settle(subtask.id, 'skipped', describeFailure(cause));
    run.report();
    return;
  }
  if (
    isFatalForJob(cause) &&
    ledger.stopJob({
      type: cause.type ?? 'JobFailed',
      message: `subtask ${subtask.id} failed: ${cause.message}`,
      cause,
    })
  ) {
    run.stop();
  }
  run.report();
}
