/**
 * The model stream's idle watchdog: calls `onStall` once no event has arrived for `idleMs` while this
 * process was running.
 *
 * Why not a plain timer: a paused process (a long GC, a CPU starved by its neighbours, a stopped
 * container) cannot read its sockets. When it runs again, libuv runs due timers before the poll
 * phase that delivers the events the service sent meanwhile, so a plain timer calls a healthy
 * stream stalled; the activity is retried and an answer the service finished is paid for twice.
 * Two rules keep that from happening, and both are bounded, so a real stall is still noticed:
 * - the verdict waits one `setImmediate`, so the poll phase first reads whatever is already waiting;
 * - a pause of the process that ended inside the idle window (seen by a shared ticker that runs
 *   only while a stream is open) starts the window again, once per quiet period: the next
 *   event allows it again, so even a constantly starved process gives up after two windows.
 */
import { performance } from 'node:perf_hooks';

/**
 * When this process was last paused: a 500 ms interval that finds itself more than 250 ms late means
 * the event loop did not run in between. Pauses shorter than that cannot make a healthy stream look
 * idle for a window of seconds. One ticker for all open streams, unreferenced so it never keeps a
 * process alive; it costs at most ~0.03 % of a core while any stream is open (BENCHMARKS.md, eleventh round).
 */
class PauseDetector {
  private static readonly TICK_MS = 500;
  private static readonly LATE_MS = 250;
  private streams = 0;
  private ticker: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private lastPauseEnd = -Infinity;

  open(): void {
    if (this.streams++ > 0) return;
    this.lastTick = performance.now();
    this.ticker = setInterval(() => this.tick(), PauseDetector.TICK_MS).unref();
  }

  close(): void {
    if (--this.streams > 0) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** The end of the latest pause seen; ticks first, for a pause whose late tick has not run yet. */
  lastEndedAt(): number {
    this.tick();
    return this.lastPauseEnd;
  }

  private tick(): void {
    const now = performance.now();
    if (now - this.lastTick > PauseDetector.TICK_MS + PauseDetector.LATE_MS) this.lastPauseEnd = now;
    this.lastTick = now;
  }
}

const pauses = new PauseDetector();

export interface IdleWatchdog {
  /** An event arrived: the idle window starts again. */
  readonly touch: () => void;
  /** The stream ended: no more checks. */
  readonly stop: () => void;
}

export function startIdleWatchdog(idleMs: number, onStall: () => void): IdleWatchdog {
  pauses.open();
  let lastEvent = performance.now();
  let restarted = false;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;

  const arm = (waitMs: number) => {
    timer = setTimeout(check, waitMs);
  };
  const check = () => {
    const idle = performance.now() - lastEvent;
    if (idle < idleMs) return arm(idleMs - idle);
    immediate = setImmediate(verdict);
  };
  const verdict = () => {
    immediate = undefined;
    if (done) return;
    const now = performance.now();
    const idle = now - lastEvent;
    if (idle < idleMs) return arm(idleMs - idle);
    if (!restarted && pauses.lastEndedAt() > lastEvent) {
      // This process was not running for part of the window: judge the stream on a fresh one.
      restarted = true;
      lastEvent = now;
      return arm(idleMs);
    }
    stop();
    onStall();
  };
  const stop = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    pauses.close();
  };

  arm(idleMs);
  return {
    touch: () => {
      lastEvent = performance.now();
      restarted = false;
    },
    stop,
  };
}
