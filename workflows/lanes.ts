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
