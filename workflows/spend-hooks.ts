/** The result document's spend fields, kept out of job.ts: budget and cost report. */
import { costReport } from '../shared/cost-report';
import type { CallUsage, ResultDocument } from '../shared/schemas';
import type { JobSpend } from './spend';

export function spendDocument(spend: JobSpend, calls: readonly CallUsage[]): Partial<ResultDocument> {
  const budget = spend.ledger.summary();
  const strong = spend.models?.strong;
  return {
    ...(budget ? { budget } : {}),
    ...(strong && calls.length ? { costReport: costReport(calls, strong) } : {}),
  };
}
