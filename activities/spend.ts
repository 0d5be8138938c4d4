/**
 * The pre-flight of a job: before anything is paid, count the shared prefix (system prompt + job +
 * context, laid out exactly as every call sends it) on each model the job will use, with the
 * Messages API's free `count_tokens`. The workflow checks the counts against each model's context
 * window and the job's budget (workflows/budget.ts).
 */
import type Anthropic from '@anthropic-ai/sdk';
import { activityInfo } from '@temporalio/activity';
import type { ContextFile } from '../shared/schemas';
import { classifyError } from './errors';
import { requestLayout } from './layout';
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
          const counted = await deps.anthropic.messages.countTokens({ model, ...requestLayout(shared, model, '.') });
          sharedTokens[model] = counted.input_tokens;
        } catch (err) {
          throw classifyError(err, activityInfo().attempt, { model });
        }
      }
      return { models, sharedTokens, sharedChars: shared.length };
    },
  };
}
