/**
 * Admission of model calls under the API's rate limits, per model family (the design is in the
 * README, "Rate limits"). Each worker keeps a book learned from every answer's headers; while it
 * shows plenty of room a call goes at once (no round trip), otherwise it asks the task queue's shared
 * limiter workflow for a lease. When that limiter cannot be reached or does not answer, this
 * worker paces alone from its own book: slower to converge with several workers, never stuck.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Context, activityInfo } from '@temporalio/activity';
import {
  DIMENSIONS,
  grant,
  isAmple,
  limitOf,
  modelFamily,
  newFamilyBook,
  overrideFor,
  remainingOf,
  settle,
  waitMs,
  type FamilyBook,
  type Lease,
  type Observation,
  type PerDimension,
  type RateLimitsSetting,
} from '../shared/rate-limits';
import type { TokenUsage } from '../shared/schemas';
import type { SettleReport } from '../workflows/rate-limiter-definitions';
import { retryAfterMs } from './errors';
import { LimiterLink } from './limiter-link';
import type { ModelAnswer, ModelCall } from './llm';
import * as metrics from './rate-limit-metrics';

export interface AdmissionOptions {
  /** RENGA_RATE_LIMITS: explicit limits per family, or 'off' (every call goes at once, as before). */
  setting?: RateLimitsSetting;
  /** The limiter must accept a request within this long, or this worker paces alone for a while. */
  acceptTimeoutMs?: number;
  /** How long a worker paces alone after the limiter failed it, before trying it again. */
  limiterRetryMs?: number;
  /** A call the shared limiter has not admitted within this long is paced by this worker alone. */
  sharedWaitMs?: number;
}

/**
 * Bound on one call's wait for the shared limiter (default 60 s). Past it the call is paced from
 * this worker's own book: the limiter is an optimisation shared by workers, never a lock.
 */
const SHARED_WAIT_MS = 60_000;

/** Input tokens are estimated from characters until the answers' usage teaches the ratio. */
const CHARS_PER_TOKEN = 4;
const HEADER_DIMENSION: Record<(typeof DIMENSIONS)[number], string> = {
  requests: 'requests',
  inputTokens: 'input-tokens',
  outputTokens: 'output-tokens',
};

export class Admission {
  private readonly books = new Map<string, FamilyBook>();
  private readonly tokensPerChar = new Map<string, number>();
  private readonly waiting = new Map<string, number>();
  private readonly link: LimiterLink;
  /** Aborted by drain(): calls stop waiting on the shared limiter and pace alone. */
  private readonly draining = new AbortController();

  constructor(private readonly opts: AdmissionOptions = {}) {
    this.link = new LimiterLink({
      acceptTimeoutMs: opts.acceptTimeoutMs,
      restMs: opts.limiterRetryMs,
      onDown: (err) =>
        console.warn(
          `renga: rate limiter unreachable, this worker paces model calls alone for now (${err instanceof Error ? err.message : String(err)})`,
        ),
    });
    metrics.publishBooks(this);
  }

  get enabled(): boolean {
    return this.opts.setting !== 'off';
  }

  /**
   * The worker is shutting down. It no longer runs workflow tasks, and it may be the only worker
   * serving the shared limiter (a workflow), which then can admit nobody: every call waiting on the
   * limiter, and every call after this, is paced by this worker's own book instead, so in-flight
   * subtasks finish within the grace time rather than run again elsewhere.
   */
  drain(): void {
    this.draining.abort(new Error('worker draining'));
  }

  /** Runs `send` once the call is admitted, and learns from its answer or its failure. */
  async run(call: ModelCall, send: () => Promise<ModelAnswer>): Promise<ModelAnswer> {
    if (!this.enabled) return send();
    const family = modelFamily(call.model);
    const book = this.bookFor(family);
    const chars = charsOf(call);
    const cost: PerDimension<number> = {
      requests: 1,
      inputTokens: Math.ceil(chars * (this.tokensPerChar.get(family) ?? 1 / CHARS_PER_TOKEN)),
      outputTokens: call.maxTokens,
    };
    let shared: Lease | null = null;
    if (!isAmple(book, cost, Date.now())) {
      this.setWaiting(family, +1);
      try {
        shared = await this.acquireShared(family, cost);
        if (!shared) await this.paceAlone(book, cost);
      } finally {
        this.setWaiting(family, -1);
      }
    }
    const lease = grant(book, family, cost, Date.now());
    let answer: ModelAnswer;
    try {
      answer = await send();
    } catch (err) {
      const headers = err instanceof Anthropic.APIError ? err.headers : undefined;
      const observation = headers
        ? observationOf(headers, err instanceof Anthropic.APIError && err.status === 429)
        : null;
      // A refused or failed call used no tokens the API charges for.
      this.learn(family, book, lease, shared, { requests: 1, inputTokens: 0, outputTokens: 0 }, observation);
      throw err;
    }
    const actual = actualOf(answer.call.usage);
    if (chars > 0 && actual.inputTokens > 0) {
      const seen = actual.inputTokens / chars;
      this.tokensPerChar.set(family, 0.8 * (this.tokensPerChar.get(family) ?? seen) + 0.2 * seen);
    }
    this.learn(family, book, lease, shared, actual, answer.headers ? observationOf(answer.headers, false) : null);
    return answer;
  }

  /** The books as the rate-limit gauges publish them (read when /metrics is scraped). */
  readings(): metrics.BookReading[] {
    const now = Date.now();
    return [...this.books].flatMap(([family, book]) => {
      const remaining = remainingOf(book, now);
      return DIMENSIONS.map((d) => ({
        family,
        dimension: HEADER_DIMENSION[d].replace('-', '_'),
        limit: limitOf(book, d),
        remaining: remaining[d],
      }));
    });
  }

  private bookFor(family: string): FamilyBook {
    let b = this.books.get(family);
    if (!b) this.books.set(family, (b = newFamilyBook(Date.now(), overrideFor(this.opts.setting, family))));
    return b;
  }

  private learn(
    family: string,
    book: FamilyBook,
    lease: Lease,
    shared: Lease | null,
    actual: PerDimension<number>,
    observation: Observation | null,
  ): void {
    settle(book, lease, actual, observation, Date.now());
    if (observation?.rateLimited) metrics.rateLimited.inc({ family });
    // The shared limiter hears about every call it admitted, and about pressure the fast path ran into.
    const pressure = observation !== null && !isAmple(book, lease.cost, Date.now());
    if (shared || pressure) this.report({ family, lease: shared, actual, observation });
  }

  private setWaiting(family: string, delta: number): void {
    const n = (this.waiting.get(family) ?? 0) + delta;
    this.waiting.set(family, n);
    metrics.rateLimitWaiting.set({ family }, n);
  }

  /**
   * A lease from the shared limiter, or null when it cannot be reached or has not answered within
   * SHARED_WAIT_MS (then this worker paces alone): a call never waits on the limiter without bound.
   */
  private async acquireShared(family: string, cost: PerDimension<number>): Promise<Lease | null> {
    if (this.draining.signal.aborted) return null;
    const ctx = Context.current();
    const info = activityInfo();
    const giveUp = new AbortController();
    const timer = setTimeout(
      () => giveUp.abort(new Error('no lease in time')),
      this.opts.sharedWaitMs ?? SHARED_WAIT_MS,
    );
    try {
      return await this.link.acquire(
        { client: ctx.client, taskQueue: info.taskQueue },
        {
          family,
          // A job's shards (`<job>/shard-N`) and sub-agents (`<job>--sN`) are that job, for fairness.
          job: (info.workflowExecution?.workflowId ?? info.activityId)
            .replace(/--s\d+$/, '')
            .replace(/\/shard-\d+$/, ''),
          cost,
          override: overrideFor(this.opts.setting, family),
        },
        AbortSignal.any([ctx.cancellationSignal, giveUp.signal, this.draining.signal]),
      );
    } catch (err) {
      if ((giveUp.signal.aborted || this.draining.signal.aborted) && !ctx.cancellationSignal.aborted) return null;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async paceAlone(book: FamilyBook, cost: PerDimension<number>): Promise<void> {
    for (let ms = waitMs(book, cost, Date.now()); ms > 0; ms = waitMs(book, cost, Date.now())) {
      await Context.current().sleep(Math.min(ms, 1_000));
    }
  }

  private report(report: SettleReport): void {
    try {
      const ctx = Context.current();
      this.link.report({ client: ctx.client, taskQueue: activityInfo().taskQueue }, report);
    } catch {
      // Outside an activity (no client): nothing to tell.
    }
  }
}

/**
 * Everything the model reads, in characters: system, messages, tool calls and results. Text blocks
 * are counted, not serialized, wherever they are (renga's layouts put the shared context in the
 * user turn and the system prompt is a string, so only tool calls and results are serialized).
 */
function charsOf(call: ModelCall): number {
  let n = typeof call.system === 'string' ? call.system.length : 0;
  if (typeof call.system !== 'string') for (const b of call.system) n += b.text.length;
  for (const m of call.messages) {
    if (typeof m.content === 'string') n += m.content.length;
    else for (const b of m.content) n += b.type === 'text' ? b.text.length : JSON.stringify(b).length;
  }
  return n;
}

/** What the API charges against the limits: cache reads do not count toward input tokens. */
function actualOf(u: TokenUsage): PerDimension<number> {
  return { requests: 1, inputTokens: u.inputTokens + u.cacheWriteTokens, outputTokens: u.outputTokens };
}

export function observationOf(headers: Headers, rateLimited: boolean): Observation {
  const num = (name: string): number | null => {
    const raw = headers.get(name);
    const n = raw === null ? NaN : Number(raw);
    return Number.isFinite(n) ? n : null;
  };
  const limit = { requests: 0, inputTokens: 0, outputTokens: 0 } as PerDimension<number | null>;
  const remaining = { requests: 0, inputTokens: 0, outputTokens: 0 } as PerDimension<number | null>;
  for (const d of DIMENSIONS) {
    limit[d] = num(`anthropic-ratelimit-${HEADER_DIMENSION[d]}-limit`);
    remaining[d] = num(`anthropic-ratelimit-${HEADER_DIMENSION[d]}-remaining`);
  }
  return { limit, remaining, rateLimited, retryAfterMs: rateLimited ? retryAfterMs(headers) : null };
}
