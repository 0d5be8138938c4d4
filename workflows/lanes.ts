/**
 * Bounded concurrency, the one way renga fans out: `count` lanes, each taking the next item until
 * `take` returns undefined (nothing left, or the caller wants to stop). Lanes start in order and
 * each issues its first command before the next starts, so the command order is deterministic.
 */
export async function runLanes<T>(
  count: number,
  take: () => T | undefined,
  work: (item: T, lane: number) => Promise<void>,
  opts: { waitForAll?: boolean } = {},
): Promise<void> {
  const lane = async (index: number): Promise<void> => {
    for (let item = take(); item !== undefined; item = take()) await work(item, index);
  };
  const lanes = Array.from({ length: Math.max(0, count) }, (_, i) => lane(i));
  if (!opts.waitForAll) {
    await Promise.all(lanes);
    return;
  }
  // `waitForAll`: after a cancel every lane still reports what it finished (a shard returns its
  // stored outputs) before the first failure is rethrown.
  for (const r of await Promise.allSettled(lanes)) if (r.status === 'rejected') throw r.reason;
}

/** A `take` over a list, in order, that stops early once `stopped()` holds. */
export function inOrder<T>(items: readonly T[], stopped: () => boolean = () => false): () => T | undefined {
  let next = 0;
  return () => (next < items.length && !stopped() ? items[next++] : undefined);
}

/** How callback-driven work reports its end: `done` starts the lane's next item, `fail` stops the lane. */
export interface LaneEnd {
  done(): void;
  fail(err: unknown): void;
}

/**
 * `runLanes` for work that reports its end through `LaneEnd` instead of a promise: one promise per
 * lane, none per item. Every promise in workflow code costs the SDK a stack capture, and the lane's
 * `await` was one per subtask. Each lane still takes its first item before the next lane starts.
 * An item that ends synchronously does not nest the next one on the stack.
 */
export async function runCallbackLanes<T>(
  count: number,
  take: () => T | undefined,
  work: (item: T, lane: number, end: LaneEnd) => void,
  opts: { waitForAll?: boolean } = {},
): Promise<void> {
  const lane = (index: number) =>
    new Promise<void>((resolve, reject) => {
      let running = false;
      let again = false;
      let failed = false;
      const next = (): void => {
        // Called again while an item is being started (it ended synchronously): loop instead of recursing.
        if (running) {
          again = true;
          return;
        }
        running = true;
        do {
          again = false;
          const item = failed ? undefined : take();
          if (item === undefined) {
            running = false;
            if (!failed) resolve();
            return;
          }
          work(item, index, {
            done: next,
            fail: (err) => {
              failed = true;
              reject(err);
            },
          });
        } while (again);
        running = false;
      };
      next();
    });
  const lanes = Array.from({ length: Math.max(0, count) }, (_, i) => lane(i));
  if (!opts.waitForAll) {
    await Promise.all(lanes);
    return;
  }
  for (const r of await Promise.allSettled(lanes)) if (r.status === 'rejected') throw r.reason;
}
