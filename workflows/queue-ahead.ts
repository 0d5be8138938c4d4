/**
 * Queue-ahead lanes (issue 14). Between two calls of a lane the workflow makes a round trip: the call
 * completes, a workflow task runs, the next call is scheduled and matched to a poller, 5–40 ms a
 * step on 2 cores, ~4–9 % of a job at 1 s a call. Here a job of concurrency C runs 2·C lanes in C
 * pairs; the two lanes of a pair share one slot. While one lane's call holds the slot, the other
 * lane's next call is already scheduled with the number of the call it follows; a worker that runs
 * the holder starts it the moment the holder ends (activities/handoffs.ts). Anywhere else it hands
 * itself back unmade and is sent again here once the slot is free, as without queue-ahead. So at
 * most C calls of a job are ever made at once, on one worker or many.
 *
 * Queuing ahead saves waiting, not work: a waiting call is one more activity the worker holds, and
 * completions come one by one rather than in batches, so where the worker's CPU and not the round
 * trip limits a job (zero-latency benchmarks) it costs CPU (BENCHMARKS.md); `queueAhead: false` turns
 * it off. A worker with no slot to spare hands calls back `busy`; the run's next calls then wait
 * here for a while, as lanes without queue-ahead do.
 */
import type { CallGate, DeferredCall, SubtaskOutput } from '../activities/types';

/** patched() id: runs started before it keep plain lanes (their histories have no queued-ahead calls). */
export const SUBTASK_QUEUE_AHEAD = 'subtask-queue-ahead';

/** Calls of the run (per slot) sent without queue-ahead after a worker with no slot to spare handed one back. */
const PLAIN_PER_SLOT_AFTER_BUSY = 8;
/** Calls of the slot sent without queue-ahead after one was handed back (its predecessor ran on another worker). */
const PLAIN_AFTER_DEFERRAL = 16;

type Send = (gate: CallGate) => Promise<SubtaskOutput | DeferredCall>;

/** What a run's slots share: the call counter (a call's key is run id + number) and the busy pause. */
interface RunState {
  next: number;
  /** Calls still to send without queue-ahead, run-wide, after a full worker handed one back. */
  plain: number;
  slots: number;
}

/** One slot shared by two lanes: the call that holds it, and at most one scheduled behind it. */
export class CallSlot {
  private holder: number | null = null;
  /** The other lane's call, scheduled while `holder` ran; `ended` once it ran (or failed) before `holder`'s result came. */
  private behind: { call: number; ended: boolean; held?: () => void; owned?: () => void } | null = null;
  /** Calls of this slot still to send without queue-ahead after one was handed back. */
  private plain = 0;

  constructor(private readonly run: RunState) {}

  /**
   * Sends one call through the slot. `held` runs when the call comes to hold the slot: at once, or
   * when the call it follows has ended (the subtask counts as running from then: workflows/subtask.ts).
   */
  call(send: Send, held?: () => void): Promise<SubtaskOutput> {
    const call = this.run.next++;
    if (this.holder === null) {
      this.holder = call;
      held?.();
      return this.settle(call, send({ call }));
    }
    this.behind = { call, ended: false, held };
    if (this.run.plain > 0 || this.plain > 0) {
      // Queue-ahead is paused: wait here for the slot, as lanes without it do.
      if (this.run.plain > 0) this.run.plain--;
      else this.plain--;
      return this.owned(call).then(() => this.settle(call, send({ call })));
    }
    return send({ call, after: this.holder }).then(
      (out) => {
        if (!('deferred' in out)) {
          this.release(call);
          return out;
        }
        // Ran nowhere: send it again, following no call, once the slot is its own. A handed-back
        // call costs an activity that did nothing, so queue-ahead pauses (for a full worker, run-wide).
        if (out.busy) this.pause();
        else this.plain = PLAIN_AFTER_DEFERRAL;
        return this.owned(call).then(() => this.settle(call, send({ call })));
      },
      (err: unknown) => {
        this.release(call);
        throw err;
      },
    );
  }

  /** A call that holds the slot: it frees the slot however it ends (a holder's call never hands itself back). */
  private settle(call: number, sent: Promise<SubtaskOutput | DeferredCall>): Promise<SubtaskOutput> {
    return sent.then(
      (out) => {
        this.release(call);
        return out as SubtaskOutput;
      },
      (err: unknown) => {
        this.release(call);
        throw err;
      },
    );
  }

  private pause(): void {
    this.run.plain = Math.max(this.run.plain, PLAIN_PER_SLOT_AFTER_BUSY * this.run.slots);
  }

  /** Resolves once `call` (the one behind) holds the slot. */
  private owned(call: number): Promise<void> {
    if (this.holder === call) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.behind?.call === call) this.behind.owned = resolve;
    });
  }

  /** `call` ended: the slot passes to the call behind it, or frees. */
  private release(call: number): void {
    if (this.holder !== call) {
      // The call behind ended before its holder's result came (it ran right after it, or failed).
      if (this.behind?.call === call) this.behind.ended = true;
      return;
    }
    const behind = this.behind;
    this.behind = null;
    this.holder = null;
    if (!behind || behind.ended) return;
    this.holder = behind.call;
    behind.held?.();
    behind.owned?.();
  }
}

/** C slots for a run's 2·C lanes: lanes i and i + C share slot i. */
export function callSlots(count: number): (lane: number) => CallSlot {
  const run: RunState = { next: 1, plain: 0, slots: count };
  const slots = Array.from({ length: count }, () => new CallSlot(run));
  return (lane) => slots[lane % count]!;
}
