/**
 * The budget ledger of one job (workflow-safe: no I/O, no clock). Before a model call starts, its
 * worst case — every input token at the cache-write price plus every allowed output token — is
 * reserved; a call whose reservation would cross the budget is not started. A call's reservation
 * is replaced by its actual cost (from the API's `usage`) when it returns, freeing the difference.
 *
 * The synthesis is paid for last but reserved first: the ledger always keeps back the synthesis's
 * worst case for the outputs finished and in flight, so a fan-out stopped by the budget can still
 * be combined into an answer. Invariant: spent + reserved (calls + synthesis) ≤ limit, hence the
 * sum of every call's actual cost never exceeds the limit.
 */
import { condition } from '@temporalio/workflow';
import { estimateInputTokens, roundUsd, worstCaseUsd } from '../shared/pricing';
import type { BudgetSummary } from '../shared/schemas';

export interface Reservation {
  usd: number;
  /** Input tokens the synthesis may read because of this call (its output, at most). */
  synthesisTokens: number;
}

export interface SynthesisTerms {
  model: string;
  /** Shared prefix and instructions: what the synthesis reads whatever the outputs. */
  baseInputTokens: number;
  maxOutputTokens: number;
  /** The synthesis never reads more outputs than this (their text is trimmed to fit). */
  maxPartsTokens: number;
}

/** Float slack: micro-dollar sums must not refuse a call that fits exactly. */
const EPSILON = 1e-9;

export class BudgetLedger {
  private spentUsd = 0;
  private reservedUsd = 0;
  private inFlight = 0;
  private partsTokens = 0;
  private synthesis: SynthesisTerms | null = null;
  /** Set when a call could not start for want of budget: the job then ends partial (BudgetExhausted). */
  exhausted = false;

  constructor(readonly limitUsd: number | null) {}

  get spent(): number {
    return roundUsd(this.spentUsd);
  }

  /** Sets (or updates) what the synthesis will cost at worst; until then nothing is kept back. */
  setSynthesis(terms: SynthesisTerms): void {
    this.synthesis = terms;
  }

  /** The synthesis's worst case if it read `extraTokens` more of outputs than are counted now. */
  synthesisReserve(extraTokens = 0): number {
    const s = this.synthesis;
    if (!s) return 0;
    const parts = Math.min(s.maxPartsTokens, this.partsTokens + extraTokens);
    return worstCaseUsd(s.model, { inputTokens: s.baseInputTokens + parts, maxOutputTokens: s.maxOutputTokens });
  }

  /** What is left for new calls now, once the synthesis's share of `synthesisTokens` more is kept back. */
  available(synthesisTokens = 0): number {
    if (this.limitUsd === null) return Infinity;
    return this.limitUsd - this.spentUsd - this.reservedUsd - this.synthesisReserve(synthesisTokens);
  }

  /** Whether a call of worst case `usd` (adding `synthesisTokens` to the synthesis) fits now. */
  fits(usd: number, synthesisTokens = 0): boolean {
    if (this.limitUsd === null) return true;
    return this.spentUsd + this.reservedUsd + usd + this.synthesisReserve(synthesisTokens) <= this.limitUsd + EPSILON;
  }

  /**
   * Reserves a call's worst case. When it does not fit but other calls are in flight, waits for
   * them to settle (their actual cost is usually far below their worst case); when it still does
   * not fit with nothing in flight, returns null and marks the budget exhausted.
   */
  async reserve(usd: number, synthesisTokens = 0): Promise<Reservation | null> {
    // A loop, not one wait: several waiters wake on the same settle and the first one to reserve
    // can take what the next one saw; that one waits again while anything is still in flight.
    while (!this.fits(usd, synthesisTokens)) {
      if (this.inFlight === 0) {
        this.exhausted = true;
        return null;
      }
      await condition(() => this.fits(usd, synthesisTokens) || this.inFlight === 0);
    }
    return this.tryReserve(usd, synthesisTokens);
  }

  /**
   * Reserves at once when the call fits now, else null (then `reserve` waits). The common case takes
   * no `await`: in the workflow sandbox every promise records its creation stack for Temporal's
   * stack-trace query, which made awaits a large share of a fan-out's workflow CPU (BENCHMARKS.md).
   */
  tryReserve(usd: number, synthesisTokens = 0): Reservation | null {
    if (!this.fits(usd, synthesisTokens)) return null;
    this.reservedUsd += usd;
    this.inFlight += 1;
    this.partsTokens += synthesisTokens;
    return { usd, synthesisTokens };
  }

  /** Replaces a reservation by what the call actually cost (0 when it failed before any usage). */
  settle(r: Reservation, actualUsd: number, outputChars: number | null): void {
    this.reservedUsd -= r.usd;
    this.inFlight -= 1;
    this.spentUsd += actualUsd;
    // The synthesis will read this output (trimmed); a failed call adds nothing for it to read.
    const read = outputChars === null ? 0 : Math.min(r.synthesisTokens, estimateInputTokens(outputChars));
    this.partsTokens += read - r.synthesisTokens;
  }

  /** Spend that happened outside a reservation (results recorded before budgets, reused work). */
  record(actualUsd: number): void {
    this.spentUsd += actualUsd;
  }

  /**
   * What the synthesis may read, in characters of outputs, so that its worst case fits what is
   * left; null when unlimited. Called when the synthesis is about to start.
   */
  synthesisPartsChars(): number | null {
    const s = this.synthesis;
    if (this.limitUsd === null || !s) return null;
    const left = this.limitUsd - this.spentUsd - this.reservedUsd;
    const base = worstCaseUsd(s.model, { inputTokens: s.baseInputTokens, maxOutputTokens: s.maxOutputTokens });
    const perToken = worstCaseUsd(s.model, { inputTokens: 1_000_000, maxOutputTokens: 0 }) / 1_000_000;
    const tokens = Math.floor((left - base) / perToken);
    // estimateInputTokens(chars) = chars/3 + 32: invert it, keeping a margin for per-part framing.
    return Math.max(0, (tokens - 32) * 3 - 2_000);
  }

  summary(): BudgetSummary | undefined {
    if (this.limitUsd === null) return undefined;
    return { limitUsd: this.limitUsd, spentUsd: this.spent, exhausted: this.exhausted };
  }
}
