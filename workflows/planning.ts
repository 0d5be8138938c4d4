/** The planning activity's limits (shared/planning.ts explains the numbers). */
import type { ActivityOptions } from '@temporalio/workflow';
import { PLAN_MAX_ATTEMPTS, planPages } from '../shared/planning';
import type { JobInput } from '../shared/schemas';
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
