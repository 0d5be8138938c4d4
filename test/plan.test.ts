/**
 * Planning that cannot run up a bill (activities/plan.ts): a plan over `maxSubtasks` is trimmed
 * and says so, an answer cut off at max_tokens is asked again at half the page size (never
 * "repaired"), planning failures stop after a bounded number of calls, and plans larger than one
 * answer are written in pages. The simulator's scripted answers produce each condition.
 */
import { randomUUID } from 'node:crypto';
import { sharedBlock } from '../activities/layout';
import { callModel, createAnthropicClient } from '../activities/llm';
import { writePlan } from '../activities/plan';
import * as prompts from '../activities/prompts';
import { getResult, rejectPlan, startJob } from '../client/api';
import { PLAN_PAGE_SUBTASKS } from '../shared/planning';
import type { JobInputArg } from '../shared/schemas';
import { planQuery, progressQuery } from '../workflows/definitions';
import { callsOf } from './helpers/calls';
import { useStack, waitUntil } from './helpers/stack';

const stack = useStack();

let seq = 0;
/**
 * A job with a known workflow id (its calls are read by it) whose text ends with a unique marker
 * (scripted answers match its planning prompt by it).
 */
function newJob(extra: Partial<JobInputArg> = {}) {
  const marker = `plan-${process.pid}-${++seq}`;
  const id = `${marker}-${randomUUID().slice(0, 8)}`;
  const input: JobInputArg = { job: `List facts about tides ${marker}`, maxSubtasks: 3, ...extra };
  const start = () => startJob(stack.rc, input, { workflowId: id });
  /** The job's planning requests (repair rounds, whose last turn is the repair request, not included). */
  const planCalls = async () =>
    (await callsOf(stack.sim, id)).filter((e) => e.structured && e.lastUserText.includes(`${marker}\n</job>`));
  return { id, marker, input, start, planCalls, planText: `${marker}\n</job>\nPlan the job above` };
}

test('a plan with more subtasks than maxSubtasks is trimmed to the limit and records it; one planner call', async () => {
  const j = newJob();
  stack.sim.scriptAnswer({ match: { textIncludes: j.planText }, extraItems: 5 });
  const doc = await getResult(stack.rc, await j.start());
  expect(doc.status).toBe('completed');
  expect(doc.plan!.subtasks.map((s) => s.id)).toEqual(['s1', 's2', 's3']);
  expect(doc.plan!.trimmedFrom).toBe(8);
  expect(await j.planCalls()).toHaveLength(1);
  expect(doc.subtasks.every((s) => s.status === 'completed')).toBe(true);
});

test('an answer cut off at max_tokens is not repaired: the plan is asked again in smaller pages', async () => {
  const j = newJob();
  stack.sim.scriptAnswer({ match: { textIncludes: j.planText }, stopReason: 'max_tokens' });
  const doc = await getResult(stack.rc, await j.start());
  expect(doc.status).toBe('completed');
  expect(doc.plan!.subtasks).toHaveLength(3);
  expect(doc.plan!.trimmedFrom).toBeUndefined();
  const calls = await j.planCalls();
  // The cut-off answer, then pages of 2 and 1; never a repair round that re-sends the cut-off text.
  expect(calls).toHaveLength(3);
  expect(calls.some((e) => e.lastUserText.includes('Answer again'))).toBe(false);
  expect(calls[1]!.lastUserText).toMatch(/Give the next at most 2 subtasks\./);
  expect(calls[2]!.lastUserText).toMatch(/Give the next at most 1 subtasks, continuing after the 2 already planned/);
});

test('a planner that always runs out of output tokens fails the job after three calls (PlanTruncated)', async () => {
  const j = newJob();
  stack.sim.scriptAnswer({ match: { textIncludes: j.planText }, stopReason: 'max_tokens', times: 50 });
  const doc = await getResult(stack.rc, await j.start());
  expect(doc.status).toBe('failed');
  expect(doc.error).toMatch(
    /^PlanTruncated: planning failed: PlanTruncated: the planner's answer was cut off at max_tokens/,
  );
  expect(await j.planCalls()).toHaveLength(3);
});

test('a planner that never answers valid JSON costs at most four calls, and no error quotes its answer', async () => {
  const j = newJob();
  const canary = 'Sure-Here-Is-Your-Plan-Quokka';
  // The first answer of each attempt, and each repair round (its last user turn is the repair request).
  stack.sim.scriptAnswer(
    { match: { textIncludes: j.planText }, invalidJson: `${canary} {`, times: 2 },
    { match: { textIncludes: 'Answer again with corrected JSON only' }, invalidJson: `${canary} {`, times: 2 },
  );
  const id = await j.start();
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('failed');
  expect(doc.error).toMatch(/InvalidModelOutput: .*not valid JSON \(\d+ characters\)/);
  // Two attempts, each with one repair round; then planning stops (a third would get a valid plan).
  expect(await j.planCalls()).toHaveLength(2);
  const repairs = (await callsOf(stack.sim, id)).filter((e) =>
    e.lastUserText.includes('Answer again with corrected JSON only'),
  );
  expect(repairs).toHaveLength(2);
  // The failed job's document counts all four paid calls, the first attempt's included.
  const paid = (await callsOf(stack.sim, id)).filter((e) => e.path === '/v1/messages' && e.outcome === 'ok');
  expect(paid).toHaveLength(4);
  const billedOutput = paid.reduce((n, e) => n + e.usage!.output_tokens, 0);
  expect(Object.values(doc.usage.byModel).reduce((n, m) => n + m.outputTokens, 0)).toBe(billedOutput);
  expect(JSON.stringify(doc)).not.toContain(canary);
  const history = JSON.stringify(await stack.client.workflow.getHandle(id).fetchHistory());
  expect(history).not.toContain(canary);
});

test(`a plan larger than one answer (${PLAN_PAGE_SUBTASKS} subtasks) is written in pages`, async () => {
  const j = newJob({ maxSubtasks: 600, approvePlan: true });
  const id = await j.start();
  const handle = stack.client.workflow.getHandle(id);
  await waitUntil(async () => (await handle.query(progressQuery)).phase === 'awaiting-approval', 'the plan is ready');
  const plan = (await handle.query(planQuery))!;
  expect(plan.subtasks.map((s) => s.id)).toEqual(Array.from({ length: 600 }, (_, i) => `s${i + 1}`));
  const calls = await j.planCalls();
  expect(calls.map((e) => /Give the next at most (\d+) subtasks/.exec(e.lastUserText)?.[1])).toEqual([
    '250',
    '250',
    '100',
  ]);
  // Later pages see what was planned before them.
  expect(calls[2]!.lastUserText).toContain(`500. ${plan.subtasks[499]!.title}`);
  await rejectPlan(stack.rc, id, 'test done');
  expect((await getResult(stack.rc, id)).status).toBe('cancelled');
});

test('a planner with a larger output ceiling writes larger pages: 600 subtasks in two calls at 128,000 tokens', async () => {
  const marker = `plan-${process.pid}-${++seq}`;
  const anthropic = createAnthropicClient({ apiKey: 'sim-key', baseURL: stack.sim.url });
  const model = 'claude-sonnet-4-6';
  const { plan, calls } = await writePlan(
    {
      call: async (c) => {
        const a = await callModel(anthropic, { ...c, system: prompts.PLANNER_SYSTEM }, { idleMs: 10_000 });
        return { text: a.text, stopReason: a.stopReason, call: a.call };
      },
      sharedBlock: (t) => sharedBlock(t, model),
      maxTokensCeiling: 128_000,
    },
    { sharedText: `List facts about reefs ${marker}`, maxSubtasks: 600, model, attempt: 1, tools: [] },
  );
  expect(plan.subtasks).toHaveLength(600);
  expect(calls).toHaveLength(2);
  const asked = stack.sim.log
    .filter((e) => e.structured && e.lastUserText.includes(marker))
    .map((e) => /Give the next at most (\d+) subtasks/.exec(e.lastUserText)?.[1]);
  expect(asked).toEqual(['500', '100']);
});
