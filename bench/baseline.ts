/**
 * The non-durable lower bound: the same three steps and the same Messages API calls (same SDK,
 * prompts, streaming and structured output) as a renga job, in one process with a concurrency
 * limit on Promise.all. No Temporal, no retries, no recovery: whatever renga costs above this is
 * the price of durability.
 */
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import { callModel, createAnthropicClient } from '../activities/llm';
import * as prompts from '../activities/prompts';
import type { SynthesisPart } from '../activities/types';
import { PlannerOutputSchema, type Subtask } from '../shared/schemas';
import { PLAN_TOKENS_PER_SUBTASK } from '../shared/planning';

export interface BaselineJob {
  simUrl: string;
  job: string;
  maxSubtasks: number;
  concurrency: number;
}

const MODELS = { planner: 'claude-sonnet-4-6', worker: 'claude-haiku-4-5' };

export async function runBaselineJob(opts: BaselineJob): Promise<{ subtasks: number }> {
  const anthropic = createAnthropicClient({ apiKey: 'sim-key', baseURL: opts.simUrl });
  const call = { idleMs: 30_000 };
  const shared = prompts.sharedText(opts.job, []);
  const schema = PlannerOutputSchema.extend({ subtasks: PlannerOutputSchema.shape.subtasks.max(opts.maxSubtasks) });

  const plan = await callModel(
    anthropic,
    {
      model: MODELS.planner,
      system: prompts.PLANNER_SYSTEM,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: shared },
            { type: 'text', text: prompts.plannerUserText(opts.maxSubtasks) },
          ],
        },
      ],
      // The same allowance per subtask as renga's planner (routing fields make each entry longer).
      maxTokens: Math.max(8_192, opts.maxSubtasks * PLAN_TOKENS_PER_SUBTASK),
      outputFormat: { type: 'json_schema', schema: zodOutputFormat(schema).schema },
    },
    call,
  );
  const subtasks: Subtask[] = schema.parse(JSON.parse(plan.text)).subtasks.map((s, i) => ({ id: `s${i + 1}`, ...s }));

  const outputs = new Array<string>(subtasks.length);
  let next = 0;
  const lane = async () => {
    while (next < subtasks.length) {
      const i = next++;
      const answer = await callModel(
        anthropic,
        {
          model: MODELS.worker,
          system: prompts.WORKER_SYSTEM,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: shared },
                { type: 'text', text: prompts.subtaskText(subtasks[i]!, subtasks.length) },
              ],
            },
          ],
          maxTokens: 2_048,
        },
        call,
      );
      outputs[i] = answer.text;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, subtasks.length) }, lane));

  const perPart = Math.max(500, Math.floor(400_000 / subtasks.length));
  const parts: SynthesisPart[] = subtasks.map((s, i) => ({
    id: s.id,
    title: s.title,
    output: outputs[i]!.slice(0, perPart),
    error: null,
  }));
  await callModel(
    anthropic,
    {
      model: MODELS.planner,
      system: prompts.SYNTHESIZER_SYSTEM,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: shared },
            { type: 'text', text: prompts.synthesisText(parts, false) },
          ],
        },
      ],
      maxTokens: 8_192,
    },
    call,
  );
  return { subtasks: subtasks.length };
}
