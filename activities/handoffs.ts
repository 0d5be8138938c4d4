/**
 * The worker's side of queue-ahead lanes (workflows/queue-ahead.ts). Two lanes of a job share one
 * slot: while one lane's call runs, the other's next call is already scheduled, carrying the number
 * of the call it follows. When it starts in the process that runs that call, it waits here and
 * begins the moment that call has ended, without the round trip through the workflow (activity
 * completed → workflow task → next call scheduled → matched to a poller, 5–40 ms a step on 2 cores;
 * issue 14). Anywhere else it cannot know when the slot frees, so it hands itself back unmade and
 * the workflow sends it again once the slot is free: a job never has more calls in flight than its
 * `concurrency`, on one worker or many.
 *
 * A waiting call holds one of the worker's activity slots. So that waiting never costs the worker
 * capacity, a queued-ahead call does not wait in the worker's last free slot, and when the worker
 * fills up, the call that began waiting last hands itself back and frees its slot.
 */

/** A queued-ahead call's verdict: start now, or hand itself back (its predecessor runs elsewhere, or this worker has no slot to spare). */
export type Handoff = 'go' | 'elsewhere' | 'busy';

/** `expected`: a call waits for it, but it has not begun here (yet). */
type State = 'expected' | 'running' | 'done' | 'failed';

interface Entry {
  state: State;
  wake: (() => void)[];
  /** Runs when an expected call begins. */
  began?: () => void;
}

/**
 * How long a queued-ahead call waits for the call it follows to begin here. The two are scheduled
 * together and the server may hand them out in either order; the one followed usually begins within
 * a few milliseconds on the same worker, and past this it is taken to run on another.
 */
const APPEAR_MS = 50;

/** Ended calls remembered per process: a queued-ahead call that starts later still finds its predecessor. */
const KEPT = 8_192;

export class CallHandoffs {
  private readonly entries = new Map<string, Entry>();
  /** Activities running in this worker (calls and waiting calls alike), against its slots. */
  private active = 0;
  /** Waiting calls, in the order they began to wait; each function gives up its wait. */
  private readonly waiting = new Set<() => void>();

  /** `slots`: the worker's activity slots (maxConcurrentActivityTaskExecutions); undefined: not counted. */
  constructor(private readonly slots?: number) {}

  /** Runs one activity of this worker, counted against its slots; a full worker takes back the newest wait. */
  async counted<T>(run: () => Promise<T>): Promise<T> {
    this.active++;
    if (this.full()) {
      const newest = [...this.waiting].pop();
      newest?.();
    }
    try {
      return await run();
    } finally {
      this.active--;
    }
  }

  /** Marks `key` as running in this process; the returned function records how it ended. */
  begin(key: string): (ok: boolean) => void {
    const expected = this.entries.get(key);
    const entry: Entry = expected?.state === 'expected' ? expected : { state: 'running', wake: [] };
    entry.state = 'running';
    entry.began?.();
    entry.began = undefined;
    // A retry of the same call in this process replaces the attempt before it.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return (ok) => {
      if (entry.state !== 'running') return;
      entry.state = ok ? 'done' : 'failed';
      for (const wake of entry.wake.splice(0)) wake();
      this.trim();
    };
  }

  /**
   * `go` once `key` has ended well in this process (at once if it already has). `busy` when this
   * worker has no slot to spare for waiting; `elsewhere` when it failed, did not begin here
   * within APPEAR_MS, or when `maxWaitMs` passes or `signal` aborts first.
   */
  waitFor(key: string, maxWaitMs: number, signal: AbortSignal): Promise<Handoff> {
    let entry = this.entries.get(key);
    if (entry?.state === 'done') return Promise.resolve('go');
    if (entry?.state === 'failed') return Promise.resolve('elsewhere');
    if (this.full()) return Promise.resolve('busy');
    if (!entry) {
      entry = { state: 'expected', wake: [] };
      this.entries.set(key, entry);
    }
    const waited = entry;
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        this.waiting.delete(finish);
        // Never begun here: forget it, so a later attempt here is not taken for it.
        if (waited.state === 'expected' && this.entries.get(key) === waited) this.entries.delete(key);
        resolve(waited.state === 'done' ? 'go' : 'elsewhere');
      };
      let timer = setTimeout(finish, waited.state === 'expected' ? APPEAR_MS : maxWaitMs);
      if (waited.state === 'expected') {
        waited.began = () => {
          clearTimeout(timer);
          timer = setTimeout(finish, maxWaitMs);
        };
      }
      signal.addEventListener('abort', finish, { once: true });
      waited.wake.push(finish);
      this.waiting.add(finish);
    });
  }

  private full(): boolean {
    return this.slots !== undefined && this.active >= this.slots;
  }

  /** Forgets the oldest ended calls beyond KEPT; running ones stay. */
  private trim(): void {
    if (this.entries.size <= KEPT) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= KEPT) return;
      if (entry.state !== 'running') this.entries.delete(key);
    }
  }
}
