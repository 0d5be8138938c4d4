/**
 * The pre-flight of a job: before anything is paid, count the shared prefix (system prompt + job +
 * context, laid out exactly as every call sends it) on each model the job will use, with the
 * Messages API's free `count_tokens`. The workflow checks the counts against each model's context
 * window and the job's budget (workflows/budget.ts).
 */
import { attributionHeaders } from './attribution';
import type Anthropic from '@anthropic-ai/sdk';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { estimateInputTokens, worstCaseUsd } from '../shared/pricing';
import type { CallUsage, ContextFile } from '../shared/schemas';
import { classifyError } from './errors';
import { requestLayout } from './layout';
import type { ModelCall } from './llm';
import * as prompts from './prompts';

export interface PreflightInput {
  job: string;
  context: ContextFile[];
  /** Models to count on; null entries mean the worker's configured defaults. */
  plannerModel: string | null;
  workerModel: string | null;
}
export interface PreflightOutput {
  /** The models the job runs on, defaults resolved. */
  models: { planner: string; worker: string };
  /** Input tokens of the shared prefix, per model. */
  sharedTokens: Record<string, number>;
  /** Characters of the shared text (what the plan activity stores). */
  sharedChars: number;
}

export function createSpendActivities(deps: { anthropic: Anthropic; models: { planner: string; worker: string } }) {
  return {
    async preflight(input: PreflightInput): Promise<PreflightOutput> {
      const models = {
        planner: input.plannerModel ?? deps.models.planner,
        worker: input.workerModel ?? deps.models.worker,
      };
      const shared = prompts.sharedText(input.job, input.context);
      const sharedTokens: Record<string, number> = {};
      for (const model of new Set([models.planner, models.worker])) {
        try {
          const counted = await deps.anthropic.messages.countTokens(
            { model, ...requestLayout(shared, model, '.') },
            // Named like every other call of the job, so logs and the simulator attribute it.
            { headers: attributionHeaders() },
          );
          sharedTokens[model] = counted.input_tokens;
        } catch (err) {
          throw classifyError(err, activityInfo().attempt, { model });
        }
      }
      return { models, sharedTokens, sharedChars: shared.length };
    },
  };
}

/** Characters of everything a request sends (system and every text, tool call and result). */
function requestChars(c: ModelCall): number {
  const text = (v: unknown): number => {
    if (typeof v === 'string') return v.length;
    if (Array.isArray(v)) return v.reduce((n: number, b) => n + text(b), 0);
    if (typeof v === 'object' && v !== null) {
      const b = v as Record<string, unknown>;
      if (typeof b.text === 'string') return b.text.length;
      if ('content' in b) return text(b.content);
      return JSON.stringify(b).length;
    }
    return 0;
  };
  return text(c.system) + text(c.messages);
}

/**
 * Planning under a budget: the workflow reserved `allowanceUsd` for it; no call starts whose worst
 * case (counted shared prefix, the rest estimated, every allowed output token) would pass it.
 */
export function withAllowance<A extends { call: CallUsage }>(
  call: (c: ModelCall) => Promise<A>,
  o: { allowanceUsd: number | undefined; sharedTokens: number | undefined; sharedChars: number },
): (c: ModelCall) => Promise<A> {
  if (o.allowanceUsd === undefined) return call;
  const allowance = o.allowanceUsd;
  let spent = 0;
  return async (c) => {
    const shared = o.sharedTokens ?? estimateInputTokens(o.sharedChars);
    const worst = worstCaseUsd(c.model, {
      inputTokens: shared + estimateInputTokens(Math.max(0, requestChars(c) - o.sharedChars)),
      maxOutputTokens: c.maxTokens + (c.thinkingTokens ?? 0),
    });
    if (spent + worst > allowance + 1e-9) {
      throw ApplicationFailure.create({
        type: 'BudgetExhausted',
        nonRetryable: true,
        message: `planning needs another call (up to $${worst} at worst) but only $${Math.max(0, allowance - spent).toFixed(6)} of the $${allowance} reserved for it is left`,
      });
    }
    const answer = await call(c);
    spent += answer.call.costUsd;
    return answer;
  };
}
