/**
 * rateLimiterWorkflow: one long-lived workflow per task queue that admits model calls for every
 * worker on the queue, so two workers on one API key never each spend the whole budget.
 *
 * Each worker keeps one `exchange` Update in flight (started with update-with-start, so the first
 * caller creates the limiter): it lists the worker's waiting calls and returns once some of them
 * are granted. New calls, withdrawn ones and finished calls' reports (what they cost, what the
 * API's headers said) arrive at once, without waiting behind a held exchange, in `notice` Signals.
 * Waiting calls are queued per model family and per job and served round-robin by job, so a small
 * job is not starved behind a large batch on the same key. The books (shared/rate-limits.ts) are
 * plain data carried through continue-as-new, which keeps each run's history small.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  grant,
  isKnown,
  limitOf,
  newFamilyBook,
  remainingOf,
  settle,
  waitMs,
  type FamilyBook,
  type Lease,
} from '../shared/rate-limits';
import {
  exchangeUpdate,
  limiterStateQuery,
  noticeSignal,
  type CallRequest,
  type ExchangeResult,
  type LimiterInput,
  type LimiterState,
} from './rate-limiter-definitions';

/** An exchange is answered (maybe empty: "ask again") after this long at most. */
const HOLD_MS = 20_000;
/** A worker silent for this long is gone: its waiting calls are dropped. */
const WORKER_GONE_MS = 90_000;
/** Collected call ids remembered per worker. */
const RECENT_IDS = 500;
/** Continue as new well before Temporal's limits (and its cap of 2,000 Updates per run). */
const MAX_HISTORY_EVENTS = 3_000;

interface Entry {
  worker: string;
  req: CallRequest;
}

export async function rateLimiterWorkflow(input: LimiterInput = {}): Promise<void> {
  const books = new Map<string, FamilyBook>(Object.entries(input.books ?? {}));
  /** Per family: job → its waiting calls. Map order is the round-robin: a served job moves to the back. */
  const queues = new Map<string, Map<string, Entry[]>>();
  for (const [family, entries] of Object.entries(input.queues ?? {})) {
    const byJob = new Map<string, Entry[]>();
    for (const e of entries) byJob.set(e.req.job, [...(byJob.get(e.req.job) ?? []), e]);
    queues.set(family, byJob);
  }
  const granted = new Map<string, Map<string, Lease>>(
    Object.entries(input.granted ?? {}).map(([w, leases]) => [w, new Map(Object.entries(leases))]),
  );
  const lastSeen = new Map<string, number>();
  /** Exchanges held open, by worker: when they must be answered. */
  const holdUntil = new Map<string, number>();
  let changed = false;
  let draining = false;

  /** Ids each worker has collected lately: a late duplicate notice must not queue them again. */
  const collected = new Map<string, string[]>();
  const take = (worker: string): ExchangeResult => {
    const mine = granted.get(worker);
    granted.delete(worker);
    const ids = [...(collected.get(worker) ?? []), ...(mine?.keys() ?? [])];
    collected.set(worker, ids.slice(-RECENT_IDS));
    return { leases: Object.fromEntries(mine ?? []) };
  };

  /** Queues the worker's calls the limiter does not know yet (neither waiting nor granted). */
  const add = (worker: string, requests: CallRequest[]): void => {
    const mine = granted.get(worker);
    const queued = new Set<string>(collected.get(worker));
    for (const byJob of queues.values())
      for (const list of byJob.values()) for (const e of list) if (e.worker === worker) queued.add(e.req.id);
    for (const r of requests) {
      if (queued.has(r.id) || mine?.has(r.id)) continue;
      let b = books.get(r.family);
      if (!b) books.set(r.family, (b = newFamilyBook(Date.now(), r.override)));
      b.override = r.override;
      const byJob = queues.get(r.family) ?? new Map<string, Entry[]>();
      queues.set(r.family, byJob);
      byJob.set(r.job, [...(byJob.get(r.job) ?? []), { worker, req: r }]);
    }
  };

  /** Drops the worker's calls with these ids (all of them when `ids` is null), waiting or granted. */
  const withdraw = (worker: string, ids: ReadonlySet<string> | null): void => {
    const gone = (e: Entry) => e.worker === worker && (ids === null || ids.has(e.req.id));
    for (const byJob of queues.values()) {
      for (const [job, list] of byJob) {
        if (!list.some(gone)) continue;
        const kept = list.filter((e) => !gone(e));
        if (kept.length) byJob.set(job, kept);
        else byJob.delete(job);
      }
    }
    const mine = granted.get(worker);
    for (const id of mine?.keys() ?? []) if (ids === null || ids.has(id)) mine!.delete(id);
  };

  setHandler(noticeSignal, (n) => {
    const now = Date.now();
    lastSeen.set(n.worker, now);
    for (const r of n.reports) {
      const b = books.get(r.family);
      if (b) settle(b, r.lease, r.actual, r.observation, now);
    }
    if (n.withdraw.length) withdraw(n.worker, new Set(n.withdraw));
    add(n.worker, n.add);
    changed = true;
  });

  setHandler(exchangeUpdate, async ({ worker, requests }) => {
    lastSeen.set(worker, Date.now());
    if (draining) return take(worker);
    // An exchange lists what still waits at the worker, so a listed id it "collected" never reached
    // it: the exchange that carried its lease was abandoned (accepted late, e.g. behind a dead
    // worker's sticky queue, after the worker had given up on it). Queue it again.
    const listed = new Set(requests.map((r) => r.id));
    const seen = collected.get(worker);
    if (seen?.some((id) => listed.has(id)))
      collected.set(
        worker,
        seen.filter((id) => !listed.has(id)),
      );
    add(worker, requests);
    changed = true;
    if (requests.length === 0) return take(worker);
    holdUntil.set(worker, Date.now() + HOLD_MS);
    await condition(() => draining || (granted.get(worker)?.size ?? 0) > 0 || !holdUntil.has(worker));
    holdUntil.delete(worker);
    return take(worker);
  });

  setHandler(limiterStateQuery, (): LimiterState => {
    const now = Date.now();
    const state: LimiterState = { families: {}, waitingByJob: {}, workers: lastSeen.size };
    for (const [family, b] of books) {
      let waiting = 0;
      for (const [job, list] of queues.get(family) ?? []) {
        waiting += list.length;
        state.waitingByJob[job] = (state.waitingByJob[job] ?? 0) + list.length;
      }
      state.families[family] = {
        limits: {
          requests: limitOf(b, 'requests'),
          inputTokens: limitOf(b, 'inputTokens'),
          outputTokens: limitOf(b, 'outputTokens'),
        },
        remaining: remainingOf(b, now),
        pace: b.pace,
        pausedForMs: Math.max(0, b.pausedUntil - now),
        rateLimited: b.rateLimited,
        waiting,
      };
    }
    return state;
  });

  /** Grants what the books allow, round-robin by job; returns ms until something is due (null: nothing waits). */
  const pump = (): number | null => {
    const now = Date.now();
    let next: number | null = null;
    const soon = (ms: number) => (next = next === null ? ms : Math.min(next, ms));
    for (const [worker, seen] of lastSeen) {
      if (now - seen < WORKER_GONE_MS) continue;
      lastSeen.delete(worker);
      collected.delete(worker);
      withdraw(worker, null);
    }
    for (const [worker, until] of holdUntil) {
      if (until <= now) holdUntil.delete(worker);
      else soon(until - now);
    }
    for (const [family, byJob] of queues) {
      const book = books.get(family)!;
      for (;;) {
        const first = byJob.entries().next();
        if (first.done) break;
        const [job, list] = first.value;
        const head = list[0]!;
        const wait = waitMs(book, head.req.cost, now);
        if (wait > 0) {
          soon(wait);
          break;
        }
        const mine = granted.get(head.worker) ?? new Map<string, Lease>();
        granted.set(head.worker, mine);
        mine.set(head.req.id, grant(book, family, head.req.cost, now));
        byJob.delete(job);
        if (list.length > 1) byJob.set(job, list.slice(1));
        // Limits unknown: the probe's answer must come back before anything else goes out.
        if (!isKnown(book)) {
          soon(Math.max(1, waitMs(book, head.req.cost, now)));
          break;
        }
      }
    }
    return next;
  };

  for (;;) {
    const next = pump();
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) break;
    changed = false;
    if (next === null) await condition(() => changed);
    else await condition(() => changed, Math.max(10, next));
  }

  // Answer every held exchange (workers ask the next run), let handlers finish, move on.
  draining = true;
  await condition(allHandlersFinished);
  await continueAsNew<typeof rateLimiterWorkflow>({
    books: Object.fromEntries(books),
    queues: Object.fromEntries([...queues].map(([family, byJob]) => [family, [...byJob.values()].flat()])),
    granted: Object.fromEntries([...granted].map(([w, leases]) => [w, Object.fromEntries(leases)])),
  });
}
