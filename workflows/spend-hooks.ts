/** Small adapters between jobWorkflow's state and workflows/spend.ts, kept out of job.ts. */
import { costReport } from '../shared/cost-report';
import { ZERO_USAGE, addUsage, roundUsd } from '../shared/pricing';
import type { CallUsage, ResultDocument, SubtaskResult, SubtaskState } from '../shared/schemas';
import type { JobSpend } from './spend';
import type { PolicyOutcome } from './subtask-policy';

export interface OutcomeTrack {
  state: SubtaskState;
  attempts: number;
  output: string | null;
  model: string | null;
  usage: SubtaskResult['usage'];
  error: string | null;
  stopReason?: string | null;
  escalatedFrom?: string | null;
  costByModel?: Record<string, number>;
}

export function costByModel(calls: readonly CallUsage[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.model] = roundUsd((out[c.model] ?? 0) + c.costUsd);
  return out;
}

/** Writes a policy outcome into a subtask's track: every call's usage, how it ended, and why not done. */
export function applyOutcome(track: OutcomeTrack, o: PolicyOutcome): void {
  Object.assign(track, {
    // A subtask the budget stopped before it could finish is skipped, not failed: nothing went wrong with it.
    state: o.error?.type === 'BudgetExhausted' ? 'skipped' : o.state,
    attempts: o.attempts,
    output: o.state === 'completed' ? o.output : null,
    model: o.calls.length ? o.model : track.model,
    usage: o.calls.reduce((u, c) => addUsage(u, c.usage), ZERO_USAGE),
    error: o.error ? `${o.error.type}: ${o.error.message}` : null,
    stopReason: o.stopReason,
    escalatedFrom: o.escalatedFrom,
    costByModel: costByModel(o.calls),
  });
}

/** The result document's spend fields: budget and cost report. */
export function spendDocument(spend: JobSpend, calls: readonly CallUsage[]): Partial<ResultDocument> {
  const budget = spend.ledger.summary();
  const strong = spend.models?.strong;
  return {
    ...(budget ? { budget } : {}),
    ...(strong && calls.length ? { costReport: costReport(calls, strong) } : {}),
  };
}
