/**
 * How a plan is produced within what one planner answer holds (pure; the workflow imports it too).
 *
 * Structured output cannot carry `maxItems` to the API, and one answer is capped at the model's
 * max_tokens (64,000 for Sonnet 4.x, about 250–400 real subtasks). So a plan larger than one page
 * is written in pages of at most {@link PLAN_PAGE_SUBTASKS} subtasks, each a fresh call that lists
 * the titles planned so far; a page cut off at max_tokens is asked again at half the size (at most
 * {@link PLAN_MAX_SHRINKS} times), never "repaired" by re-sending the cut-off text.
 */
import type { CallUsage } from './schemas';

/** Output tokens allowed per planned subtask in one answer, up to the model's ceiling. */
export const PLAN_TOKENS_PER_SUBTASK = 256;
/** The output ceiling of Sonnet 4.x, the default planner's, and the planner allowance budgets assume. */
export const PLANNER_MAX_TOKENS = 64_000;

/**
 * Subtasks one planner answer is asked for at most: as many as its output ceiling holds at
 * {@link PLAN_TOKENS_PER_SUBTASK} each (~160 used). A planner with a larger ceiling (only the simulator,
 * through the worker's `planMaxTokens`) writes larger pages, so it is not asked for more calls than it needs.
 */
export function planPageSubtasks(maxTokensCeiling: number): number {
  return Math.max(1, Math.floor(maxTokensCeiling / PLAN_TOKENS_PER_SUBTASK));
}

/** Subtasks per page with Sonnet's 64,000-token ceiling: 250. */
export const PLAN_PAGE_SUBTASKS = planPageSubtasks(PLANNER_MAX_TOKENS);
/** Halvings of the page size after answers cut off at max_tokens, before planning fails (PlanTruncated). */
export const PLAN_MAX_SHRINKS = 2;
/**
 * Attempts of the planning activity (Temporal retry policy). Transient API errors cost nothing;
 * a plan that is invalid twice (each with one repair round) stops retrying, a truncated one at once.
 */
export const PLAN_MAX_ATTEMPTS = 5;
/** From this attempt on, an invalid plan fails planning instead of being retried. */
export const PLAN_OUTPUT_ATTEMPTS = 2;

/**
 * Pages a plan of `maxSubtasks` needs with Sonnet's ceiling, for the planning activity's time limit
 * (a larger ceiling needs fewer pages, so this is an upper bound).
 */
export function planPages(maxSubtasks: number): number {
  return Math.max(1, Math.ceil(maxSubtasks / PLAN_PAGE_SUBTASKS));
}

/**
 * Attached (as the last detail) to the failure of a planning attempt that had already paid for
 * calls. Such a failure is non-retryable for Temporal so that the workflow sees it: it counts the
 * calls against the job's budget and cost, then starts a fresh attempt itself when `retryable`
 * (workflows/planning.ts). A Temporal retry would drop what the failed attempt paid.
 */
export interface PaidPlanningAttempt {
  paidPlanningCalls: CallUsage[];
  /** Whether the failure itself would have been retried (an invalid plan, a 529 after a paid call). */
  retryable: boolean;
  /** The failure's own next-retry delay (a 429's retry-after), if it had one. */
  retryDelayMs: number | null;
}

/** The paid calls a planning failure's details carry, or null when it had paid for none. */
export function paidPlanningAttempt(details: readonly unknown[] | undefined): PaidPlanningAttempt | null {
  const last = details?.at(-1);
  if (typeof last !== 'object' || last === null || !('paidPlanningCalls' in last)) return null;
  return last as PaidPlanningAttempt;
}
