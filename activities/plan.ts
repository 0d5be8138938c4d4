/**
 * Writing a plan within what one planner answer holds (shared/planning.ts explains the limits):
 * one call for plans up to a page, pages of at most what the planner's ceiling holds beyond that
 * (planPageSubtasks: 250 on Sonnet's 64,000 tokens). The stop
 * reason is read: an answer cut off at max_tokens is never "repaired" (re-sending it cannot make
 * it fit) but asked again at half the page size, a bounded number of times. A plan longer than
 * `maxSubtasks` is trimmed to it and the plan records `trimmedFrom`. Nothing here quotes the
 * model's answer in an error: failure messages reach the history.
 */
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import type { MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { PLAN_MAX_SHRINKS, PLAN_OUTPUT_ATTEMPTS, PLAN_TOKENS_PER_SUBTASK, planPageSubtasks } from '../shared/planning';
import { PlannerOutputSchema, describeZodError, type CallUsage, type Plan } from '../shared/schemas';
import { plannedTools, plannerToolsText } from './agent-prompts';
import type { ToolSummary } from './agent-types';
import { FailureType, type FailureDetails } from './errors';
import type { ModelCall } from './llm';
import * as prompts from './prompts';

/** What planning needs from the activity around it (activities/index.ts). */
export interface PlannerDeps {
  call(c: ModelCall): Promise<{ text: string; stopReason: string | null; call: CallUsage }>;
  sharedBlock(text: string): TextBlockParam;
  /** The planner's output ceiling (64,000 for Sonnet 4.x; more only from the simulator). */
  maxTokensCeiling: number;
}

export interface PlanRequest {
  sharedText: string;
  maxSubtasks: number;
  model: string;
  /** The activity attempt (1-based), for the retry decision and failure details. */
  attempt: number;
  /** Tools the workers may use; each subtask may name the ones it needs. */
  tools: ToolSummary[];
}

type Planned = {
  title: string;
  instructions: string;
  tools?: string[];
  kind?: string;
  tier?: 'fast' | 'strong';
  tierReason?: string;
}[];
type Answer = { kind: 'ok'; subtasks: Planned; more: boolean } | { kind: 'truncated'; maxTokens: number };

export async function writePlan(d: PlannerDeps, req: PlanRequest): Promise<{ plan: Plan; calls: CallUsage[] }> {
  const max = req.maxSubtasks;
  const calls: CallUsage[] = [];
  const planned: Planned = [];
  let offered = 0;
  const pageLimit = planPageSubtasks(d.maxTokensCeiling);
  let pageSize = Math.min(pageLimit, max);
  let paged = max > pageLimit;
  let shrinks = 0;
  let more = true;
  while (more && planned.length < max) {
    const want = Math.min(pageSize, max - planned.length);
    const answer = await askPage(d, req, calls, {
      paged,
      want,
      text:
        (paged
          ? prompts.planPageText(
              max,
              want,
              planned.map((s) => s.title),
            )
          : prompts.plannerUserText(max)) + (req.tools.length ? `\n\n${plannerToolsText(req.tools)}` : ''),
    });
    if (answer.kind === 'truncated') {
      if (shrinks >= PLAN_MAX_SHRINKS || pageSize === 1) {
        throw ApplicationFailure.create({
          type: FailureType.PlanTruncated,
          nonRetryable: true,
          message: `the planner's answer was cut off at max_tokens (${answer.maxTokens}) ${shrinks + 1} times, the last asking for ${want} subtasks; planning stops here rather than pay for more cut-off answers (lower --max-subtasks or use a planner model with more output)`,
          details: [failureDetails(req.attempt)],
        });
      }
      shrinks++;
      pageSize = Math.max(1, Math.ceil(pageSize / 2));
      paged = true;
      continue;
    }
    offered += answer.subtasks.length;
    planned.push(...answer.subtasks.slice(0, max - planned.length));
    more = paged && answer.more;
  }
  const plan: Plan = {
    subtasks: planned.map((s, i) => ({
      id: `s${i + 1}`,
      title: s.title.length > 80 ? `${s.title.slice(0, 77)}…` : s.title,
      instructions: s.instructions,
      // Routing (workflows/routing.ts): what kind of work, which tier and why.
      ...(s.kind ? { kind: s.kind } : {}),
      ...(s.tier ? { tier: s.tier } : {}),
      ...(s.tierReason ? { tierReason: s.tierReason } : {}),
      ...(req.tools.length ? { tools: plannedTools(s.tools, req.tools) } : {}),
    })),
    ...(offered > planned.length ? { trimmedFrom: offered } : {}),
  };
  return { plan, calls };
}

/** One page: a call, and one repair round if (and only if) a complete answer fails validation. */
async function askPage(
  d: PlannerDeps,
  req: PlanRequest,
  calls: CallUsage[],
  page: { paged: boolean; want: number; text: string },
): Promise<Answer> {
  // The limit goes into the schema's description (the API cannot enforce maxItems); parsing does
  // not enforce it: a longer plan is trimmed, never failed.
  const subtasks = z.array(plannedItem(req.tools)).min(1);
  const prompted = page.paged
    ? z.object({
        subtasks: subtasks.max(page.want),
        more: z.boolean().describe('true when the job needs further subtasks after these'),
      })
    : z.object({ subtasks: subtasks.max(page.want) });
  const parser = page.paged ? z.object({ subtasks, more: z.boolean() }) : z.object({ subtasks });
  const format = zodOutputFormat(prompted);
  const maxTokens = Math.min(d.maxTokensCeiling, Math.max(8_192, page.want * PLAN_TOKENS_PER_SUBTASK));
  const messages: MessageParam[] = [
    { role: 'user', content: [d.sharedBlock(req.sharedText), { type: 'text', text: page.text }] },
  ];
  let issues = '';
  for (let round = 0; round < 2; round++) {
    const answer = await d.call({
      model: req.model,
      system: prompts.PLANNER_SYSTEM,
      messages,
      maxTokens,
      outputFormat: { type: 'json_schema', schema: format.schema },
    });
    calls.push(answer.call);
    if (answer.stopReason === 'max_tokens') return { kind: 'truncated', maxTokens };
    const parsed = parseJson(answer.text, parser);
    if (parsed.ok) {
      const value = parsed.value as { subtasks: Planned; more?: boolean };
      return { kind: 'ok', subtasks: value.subtasks, more: value.more ?? false };
    }
    issues = parsed.issues;
    messages.push({ role: 'assistant', content: answer.text }, { role: 'user', content: prompts.repairText(issues) });
  }
  // A fresh attempt samples a fresh plan, once; after that, planning fails rather than keep paying.
  throw ApplicationFailure.create({
    type: FailureType.InvalidModelOutput,
    nonRetryable: req.attempt >= PLAN_OUTPUT_ATTEMPTS,
    message: `the planner's plan is invalid after a repair attempt: ${issues}`,
    details: [failureDetails(req.attempt)],
  });
}

/**
 * One planned subtask. With tools, it may name some, constrained to an enum of the offered names
 * so structured output cannot invent one.
 */
function plannedItem(tools: ToolSummary[]) {
  const item = PlannerOutputSchema.shape.subtasks.element;
  const [first, ...rest] = tools.map((t) => t.name);
  if (first === undefined) return item;
  return item.extend({
    tools: z
      .array(z.enum([first, ...rest]))
      .optional()
      .describe('the tools this subtask needs; [] for none; leave out for all'),
  });
}

function failureDetails(attempt: number): FailureDetails {
  return { attempt, status: null, requestId: null };
}

/** Never quotes the text: JSON.parse's message includes the answer's first characters. */
export function parseJson<T>(
  text: string,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; issues: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, issues: `not valid JSON (${text.length} characters)` };
  }
  const result = schema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: describeZodError(result.error) };
}
