/** The planning activity's limits and its retries after paid failures (shared/planning.ts explains the numbers). */
import { ApplicationFailure, sleep, type ActivityOptions } from '@temporalio/workflow';
import type { PlanOutput } from '../activities/types';
import { unwrap } from '../shared/failures';
import { PLAN_MAX_ATTEMPTS, paidPlanningAttempt, planPages } from '../shared/planning';
import type { CallUsage, JobInput } from '../shared/schemas';
import { retryPolicy } from './policy';

/**
 * Few attempts, so a plan that cannot succeed cannot run up a bill; the activity itself makes an
 * invalid plan non-retryable after PLAN_OUTPUT_ATTEMPTS and a truncated one at once. A paged plan
 * gets the subtask time limit once per page.
 */
export function planActivityOptions(input: JobInput): Partial<ActivityOptions> {
  return {
    startToCloseTimeout: `${input.subtaskTimeoutSeconds * planPages(input.maxSubtasks)}s`,
    retry: retryPolicy(Math.min(input.maxAttempts, PLAN_MAX_ATTEMPTS)),
  };
}

/**
 * Runs the planning activity; an attempt that failed after paying for calls comes back here
 * (shared/planning.ts, PaidPlanningAttempt) instead of being retried by Temporal, so `paid` counts
 * its calls against the budget and the cost before a fresh attempt starts with what is left.
 * Attempts that paid nothing are retried by Temporal as before.
 */
export async function planPayingForFailures(
  input: JobInput,
  plan: (earlier: { priorAttempts: number; paidUsd: number }) => Promise<PlanOutput>,
  paid: (calls: CallUsage[]) => void,
): Promise<PlanOutput> {
  const attempts = Math.min(input.maxAttempts, PLAN_MAX_ATTEMPTS);
  let priorAttempts = 0;
  let paidUsd = 0;
  for (;;) {
    try {
      return await plan({ priorAttempts, paidUsd });
    } catch (err) {
      const cause = unwrap(err);
      const attempt = cause instanceof ApplicationFailure ? paidPlanningAttempt(cause.details ?? []) : null;
      if (!attempt) throw err;
      paid(attempt.paidPlanningCalls);
      paidUsd += attempt.paidPlanningCalls.reduce((n, c) => n + c.costUsd, 0);
      priorAttempts++;
      if (!attempt.retryable || priorAttempts >= attempts) throw err;
      // The retry policy's backoff (1 s doubling), or the failure's own delay (a 429's retry-after).
      await sleep(attempt.retryDelayMs ?? Math.min(60_000, 1_000 * 2 ** (priorAttempts - 1)));
    }
  }
}
