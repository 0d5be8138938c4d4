/**
 * The naive baseline's activities, written the way a Temporal user would from the samples: one
 * activity per model call, `messages.create` on the Anthropic SDK (no streaming, no heartbeats,
 * no logging of our own), the same prompts and models as renga so the simulator answers alike.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import * as prompts from '../../activities/prompts';
import { PLAN_TOKENS_PER_SUBTASK } from '../../shared/planning';
import { PlannerOutputSchema, type Subtask } from '../../shared/schemas';

export const NAIVE_MODELS = { planner: 'claude-sonnet-4-6', worker: 'claude-haiku-4-5' };

export interface NaivePart {
  id: string;
  title: string;
  output: string;
}

function text(message: Anthropic.Messages.Message): string {
  return message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

export function createNaiveActivities(anthropic: Anthropic) {
  return {
    async plan(input: { job: string; maxSubtasks: number }): Promise<{ shared: string; subtasks: Subtask[] }> {
      const shared = prompts.sharedText(input.job, []);
      const schema = PlannerOutputSchema.extend({
        subtasks: PlannerOutputSchema.shape.subtasks.max(input.maxSubtasks),
      });
      const message = await anthropic.messages.create(
        {
          model: NAIVE_MODELS.planner,
          system: prompts.PLANNER_SYSTEM,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: shared },
                { type: 'text', text: prompts.plannerUserText(input.maxSubtasks) },
              ],
            },
          ],
          max_tokens: Math.max(8_192, input.maxSubtasks * PLAN_TOKENS_PER_SUBTASK),
          output_config: { format: zodOutputFormat(schema) },
        },
        // A large max_tokens needs an explicit timeout on a non-streaming call (the SDK's guard).
        { timeout: 10 * 60_000 },
      );
      const subtasks = schema
        .parse(JSON.parse(text(message)))
        .subtasks.map((s, i) => ({ id: `s${i + 1}`, title: s.title, instructions: s.instructions }));
      return { shared, subtasks };
    },

    async subtask(input: { shared: string; subtask: Subtask; total: number }): Promise<string> {
      const message = await anthropic.messages.create({
        model: NAIVE_MODELS.worker,
        system: prompts.WORKER_SYSTEM,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: input.shared },
              { type: 'text', text: prompts.subtaskText(input.subtask, input.total) },
            ],
          },
        ],
        max_tokens: 2_048,
      });
      return text(message);
    },

    async synthesize(input: { shared: string; parts: NaivePart[] }): Promise<string> {
      const perPart = Math.max(500, Math.floor(400_000 / input.parts.length));
      const message = await anthropic.messages.create({
        model: NAIVE_MODELS.planner,
        system: prompts.SYNTHESIZER_SYSTEM,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: input.shared },
              {
                type: 'text',
                text: prompts.synthesisText(
                  input.parts.map((p) => ({ ...p, output: p.output.slice(0, perPart), error: null })),
                  false,
                ),
              },
            ],
          },
        ],
        max_tokens: 8_192,
      });
      return text(message);
    },
  };
}

export type NaiveActivities = ReturnType<typeof createNaiveActivities>;
