/**
 * Spend and quality control of one job (workflow-safe), hooked into jobWorkflow where model calls
 * start: the pre-flight (context windows and budget, before anything is paid), the budget ledger
 * (workflows/budget.ts), routing (workflows/routing.ts), the stop-reason policy of each subtask
 * (workflows/subtask-policy.ts) and cache warm-up: on a model whose cache the job's shared prefix
 * can use, the first call writes the cache alone and the others wait for it, instead of C parallel
 * calls each paying the 1.25× write.
 */
import { ApplicationFailure, condition, patched, type ActivityOptions } from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { SharedContextRef, SubtaskOutput, SynthesisPart } from '../activities/types';
import { unwrap } from '../shared/failures';
import {
  PLAN_OUTPUT_ATTEMPTS,
  PLAN_PAGE_SUBTASKS,
  PLAN_TOKENS_PER_SUBTASK,
  PLANNER_MAX_TOKENS,
} from '../shared/planning';
import { estimateInputTokens, limitsFor, roundUsd, worstCaseUsd } from '../shared/pricing';
import { MAX_TOOL_RESULT_CHARS } from '../shared/limits';
import type { CallUsage, JobInput, Subtask } from '../shared/schemas';
import { BudgetLedger, type Reservation } from './budget';
import { modelForSubtask, type TierModels } from './routing';
import { agentSummaryOf } from './subagent';
import type { SubagentInput, SubagentResult } from './subagent-definitions';
import type { SubtaskActivities } from './subtask';
import {
  forCall,
  rejected,
  runSubtaskPolicy,
  type PolicyCall,
  type PolicyEnd,
  type PolicyOutcome,
} from './subtask-policy';

/**
 * Characters every call adds around the shared block: system prompt, role instructions, tags.
 * An upper bound of activities/prompts.ts (a unit test holds it to that).
 */
export const PROMPT_OVERHEAD_CHARS = 4_000;
/** The synthesizer's output allowance (the activity's default too). */
export const SYNTH_MAX_TOKENS = 8_192;
/** What the synthesizer reads at most, in characters, split evenly between subtasks. */
export const SYNTHESIS_BUDGET_CHARS = 400_000;
/** Framing the synthesis adds per part (`<result id=… title=…>` and the title). */
const PART_FRAMING_CHARS = 200;
/**
 * What a sub-agent's first turn adds to a plain call: the agent's system prompt and, per tool, its
 * definition (name, description, input schema) — an upper bound, since the workflow never sees them.
 */
const AGENT_OVERHEAD_CHARS = 2_000;
const TOOL_DEFINITION_CHARS = 4_000;

/** Without a budget, only a context this large (estimated tokens) is worth counting before planning. */
const PREFLIGHT_FROM_TOKENS = 50_000;
/** patched() id: a budget the uncounted bound clearly covers skips the pre-flight (budgetClearlyCovers). */
export const PREFLIGHT_ONLY_WHEN_IT_MATTERS = 'preflight-only-when-it-matters';

type Activities = (summary: string, extra?: Partial<ActivityOptions>) => RengaActivities;

/** What a subtask's calls share: the job's size and context, the activities, a shard's preview, a pinned model. */
interface SubtaskCall {
  total: number;
  shared: SharedContextRef;
  acts: SubtaskActivities;
  previewChars?: number;
  model?: string;
}

export class JobSpend {
  readonly ledger: BudgetLedger;
  /** Resolved models: known after the pre-flight or the plan. */
  models: TierModels | null = null;
  private sharedTokens: Record<string, number> = {};
  private readonly sharedChars: number;
  private readonly warm = new Map<string, 'warming' | 'warm'>();
  /** `renga redo --model`: subtasks pinned to a model, or the synthesis's model. */
  private readonly pinned = new Map<string, string>();
  private synthesisPin: string | null = null;

  constructor(
    private readonly input: JobInput,
    private readonly activities: Activities,
  ) {
    this.ledger = new BudgetLedger(input.budgetUsd ?? null);
    // prompts.sharedText: `<job>…</job>` then one `<context name="…">…</context>` per file.
    this.sharedChars =
      input.job.length + 16 + input.context.reduce((n, f) => n + f.content.length + f.name.length + 32, 0);
  }

  /** Input tokens of the shared prefix on `model`: counted by the pre-flight, else a generous estimate. */
  private prefixTokens(model: string): number {
    return this.sharedTokens[model] ?? estimateInputTokens(this.sharedChars);
  }

  /** One planner answer's allowance (activities/plan.ts asks for at most a page of subtasks per call). */
  private plannerMaxTokens(): number {
    const page = Math.min(PLAN_PAGE_SUBTASKS, this.input.maxSubtasks);
    return (
      Math.min(PLANNER_MAX_TOKENS, Math.max(8_192, page * PLAN_TOKENS_PER_SUBTASK)) +
      (this.input.plannerThinkingTokens ?? 0)
    );
  }

  /**
   * Counts the shared context on each model before anything is paid (count_tokens is free) and
   * fails the job at once when it cannot fit a context window or the budget. Runs when the context
   * is large enough to matter, or a budget is set that the uncounted bound does not clearly cover:
   * otherwise the counts could change nothing, and the count calls would only delay the plan
   * (a fixed ~2 model latencies per job; BENCHMARKS.md section 8).
   */
  async preflight(): Promise<void> {
    if (this.sharedChars / 4 < PREFLIGHT_FROM_TOKENS) {
      if (this.input.budgetUsd === undefined) return;
      // Jobs started before this rule ran the pre-flight whatever the budget: they replay it.
      if (this.budgetClearlyCovers(this.input.budgetUsd) && patched(PREFLIGHT_ONLY_WHEN_IT_MATTERS)) return;
    }
    const out = await this.activities('pre-flight: count the shared context').preflight({
      job: this.input.job,
      context: this.input.context,
      plannerModel: this.input.plannerModel ?? null,
      workerModel: this.input.workerModel ?? null,
    });
    this.models = { fast: out.models.worker, strong: out.models.planner };
    this.sharedTokens = out.sharedTokens;
    const needs: Array<[model: string, output: number, role: string]> = [
      [out.models.planner, this.plannerMaxTokens(), 'the planner'],
      [out.models.worker, this.input.subtaskMaxTokens + (this.input.workerThinkingTokens ?? 0), 'the workers'],
    ];
    for (const [model, output, role] of needs) {
      const window = limitsFor(model).contextWindow;
      const tokens = out.sharedTokens[model] ?? 0;
      if (tokens + output > window) {
        throw ApplicationFailure.create({
          type: 'ContextTooLarge',
          nonRetryable: true,
          message: `the job and its context are ${tokens} tokens on ${model} (${role}); with ${output} output tokens that is more than its ${window}-token context window`,
        });
      }
    }
    this.setSynthesisTerms(0);
    const plan = this.planWorstCase(1);
    const firstCall = this.subtaskWorstCase(out.models.worker, 200);
    const least = roundUsd(plan + this.ledger.synthesisReserve(firstCall.synthesisTokens) + firstCall.usd);
    if (this.input.budgetUsd !== undefined && least > this.input.budgetUsd) {
      throw ApplicationFailure.create({
        type: 'BudgetTooSmall',
        nonRetryable: true,
        message: `the budget of $${this.input.budgetUsd} is less than the $${least} that planning, one subtask and the synthesis can cost at worst (the context is ${this.prefixTokens(out.models.planner)} tokens on ${out.models.planner})`,
      });
    }
  }

  /**
   * Whether `budgetUsd` covers, with nothing counted, every planning round reservePlan could reserve,
   * one subtask and the synthesis, each at its model's price or the dearest one when the model is not
   * known yet, with the generous estimate of the shared prefix: then counting can neither fail the
   * job nor change what planning is allowed, and the estimates keep every later reservation an upper bound.
   */
  private budgetClearlyCovers(budgetUsd: number): boolean {
    const strong = this.input.plannerModel ?? 'unknown';
    const fast = this.input.workerModel ?? 'unknown';
    const subtask = this.subtaskWorstCase(fast, 200);
    const synthesis = worstCaseUsd(strong, {
      inputTokens:
        this.prefixTokens(strong) +
        estimateInputTokens(PROMPT_OVERHEAD_CHARS + PART_FRAMING_CHARS) +
        subtask.synthesisTokens,
      maxOutputTokens: SYNTH_MAX_TOKENS + (this.input.plannerThinkingTokens ?? 0),
    });
    return this.planWorstCase(2 * PLAN_OUTPUT_ATTEMPTS) + subtask.usd + synthesis <= budgetUsd;
  }

  private setSynthesisTerms(parts: number): void {
    const model = this.synthesisModel;
    if (!model) return;
    this.ledger.setSynthesis({
      model,
      baseInputTokens:
        this.prefixTokens(model) + estimateInputTokens(PROMPT_OVERHEAD_CHARS + parts * PART_FRAMING_CHARS),
      maxOutputTokens: SYNTH_MAX_TOKENS + (this.input.plannerThinkingTokens ?? 0),
      maxPartsTokens: estimateInputTokens(SYNTHESIS_BUDGET_CHARS),
    });
  }

  /** Worst case of planning in `rounds` calls (a repair round also reads the first answer). */
  private planWorstCase(rounds: number): number {
    const model = this.models?.strong ?? this.input.plannerModel ?? 'unknown';
    const out = this.plannerMaxTokens();
    let usd = 0;
    for (let r = 0; r < rounds; r++) {
      const input = this.prefixTokens(model) + estimateInputTokens(PROMPT_OVERHEAD_CHARS) + r * (out + 1_000);
      usd += worstCaseUsd(model, { inputTokens: input, maxOutputTokens: out });
    }
    return usd;
  }

  /**
   * Reserves planning — an answer and a repair round when the budget allows, else one answer — and
   * hands the plan activity that allowance: it starts no call past it (activities/spend.ts).
   */
  async reservePlan(): Promise<{
    reservation: Reservation | null;
    planInput: { allowanceUsd?: number; sharedTokens?: number };
  }> {
    if (this.ledger.limitUsd === null) return { reservation: null, planInput: {} };
    // An answer and its repair round, twice (a fresh attempt after an invalid plan) when the budget
    // allows; a failed attempt's calls are paid too (workflows/planning.ts).
    const rounds = [2 * PLAN_OUTPUT_ATTEMPTS, 2].find((r) => this.ledger.fits(this.planWorstCase(r))) ?? 1;
    const allowanceUsd = this.planWorstCase(rounds);
    const reservation = await this.ledger.reserve(allowanceUsd);
    if (!reservation) {
      throw ApplicationFailure.create({
        type: 'BudgetTooSmall',
        nonRetryable: true,
        message: `the budget of $${this.ledger.limitUsd} does not cover planning ($${roundUsd(this.planWorstCase(1))} at worst) and the synthesis`,
      });
    }
    const planner = this.models?.strong;
    const counted = planner === undefined ? undefined : this.sharedTokens[planner];
    return { reservation, planInput: { allowanceUsd, ...(counted !== undefined ? { sharedTokens: counted } : {}) } };
  }

  /** After planning: settles its reservation, learns the models, sizes the synthesis reserve. */
  afterPlan(
    reservation: Reservation | null,
    calls: CallUsage[],
    models: { planner: string; worker: string } | undefined,
    subtasks: number,
  ): void {
    const paid = calls.reduce((n, c) => n + c.costUsd, 0);
    if (reservation) this.ledger.settle(reservation, paid, null);
    else this.ledger.record(paid);
    const strong = this.learnModels(calls[0]?.model, models, subtasks);
    // The plan call wrote the strong model's cache; the synthesis and escalations read it.
    if (this.cacheable(strong)) this.warm.set(strong, 'warm');
  }

  /**
   * `renga redo` (workflows/redo.ts): the plan is the original's, nothing was paid for it here.
   * `model` runs the redone subtasks, or the synthesis when `subtasks` is empty.
   */
  adoptPlan(models: { planner: string; worker: string }, plan: { subtasks: number; redone: string[]; model?: string }) {
    if (plan.model) {
      if (plan.redone.length) for (const id of plan.redone) this.pinned.set(id, plan.model);
      else this.synthesisPin = plan.model;
    }
    this.learnModels(undefined, models, plan.subtasks);
  }

  private learnModels(
    planner: string | undefined,
    models: { planner: string; worker: string } | undefined,
    subtasks: number,
  ): string {
    this.models ??= {
      strong: this.input.plannerModel ?? models?.planner ?? planner ?? 'unknown',
      fast: this.input.workerModel ?? models?.worker ?? 'unknown',
    };
    this.setSynthesisTerms(subtasks);
    return this.models.strong;
  }

  /** The synthesis's model: the strong one, unless a redo named another. */
  get synthesisModel(): string | undefined {
    return this.synthesisPin ?? this.models?.strong;
  }

  modelFor(subtask: Subtask): string {
    const pinned = this.pinned.get(subtask.id);
    if (pinned) return pinned;
    return modelForSubtask(subtask, this.input.route, this.models ?? { fast: 'unknown', strong: 'unknown' });
  }

  private cacheable(model: string): boolean {
    return this.prefixTokens(model) >= limitsFor(model).cacheMinTokens;
  }

  private subtaskWorstCase(model: string, extraChars: number): { usd: number; synthesisTokens: number } {
    const out = this.input.subtaskMaxTokens + (this.input.workerThinkingTokens ?? 0);
    const schemaChars = this.input.subtaskOutputSchema ? 2 * JSON.stringify(this.input.subtaskOutputSchema).length : 0;
    const inputTokens =
      this.prefixTokens(model) + estimateInputTokens(PROMPT_OVERHEAD_CHARS + schemaChars + extraChars);
    return {
      usd: worstCaseUsd(model, { inputTokens, maxOutputTokens: out }),
      // The synthesis reads the answer: at most about 4 characters per output token.
      synthesisTokens: estimateInputTokens(4 * this.input.subtaskMaxTokens),
    };
  }

  /**
   * The first call on a cacheable model writes the cache alone; the others wait until it has.
   * Returns whether this call is the writer.
   */
  private beforeCall(model: string): boolean | Promise<boolean> {
    if (!this.cacheable(model)) return false;
    // Only a call behind a writer waits (and awaits: see BudgetLedger.tryReserve for why the rest do not).
    // It checks again when woken: the writer may have failed, and another waiter may have taken over.
    if (this.warm.get(model) === 'warming') {
      return condition(() => this.warm.get(model) !== 'warming').then(() => this.beforeCall(model));
    }
    if (this.warm.get(model) === 'warm') return false;
    this.warm.set(model, 'warming');
    return true;
  }

  private afterCall(model: string, writer: boolean, ok: boolean): void {
    if (!writer) return;
    if (ok) this.warm.set(model, 'warm');
    else this.warm.delete(model);
  }

  /**
   * One subtask through the stop-reason policy, every call reserved against the budget first. With
   * `end`, the outcome is reported there instead of through a promise (runSubtaskPolicy).
   */
  runSubtask(subtask: Subtask, c: SubtaskCall): Promise<PolicyOutcome>;
  runSubtask(subtask: Subtask, c: SubtaskCall, end: PolicyEnd): void;
  runSubtask(subtask: Subtask, c: SubtaskCall, end?: PolicyEnd): Promise<PolicyOutcome> | void {
    const models = this.models ?? { fast: 'unknown', strong: 'unknown' };
    const model = c.model ?? this.modelFor(subtask);
    const sent = forCall(subtask);
    const schedule = (callModel: string, p: PolicyCall): Promise<SubtaskOutput> =>
      c.acts.runSubtask({
        subtask: sent,
        total: c.total,
        shared: c.shared,
        model: callModel,
        maxTokens: this.input.subtaskMaxTokens,
        ...(c.previewChars !== undefined ? { previewChars: c.previewChars } : {}),
        ...(p.prefill ? { prefill: p.prefill } : {}),
        ...(p.repair ? { repair: p.repair } : {}),
        ...(this.input.subtaskOutputSchema ? { outputSchema: this.input.subtaskOutputSchema } : {}),
        ...(this.input.workerThinkingTokens ? { thinkingTokens: this.input.workerThinkingTokens } : {}),
      });
    const settled = (r: Reservation, callModel: string, writer: boolean, out: SubtaskOutput): SubtaskOutput => {
      this.ledger.settle(r, out.call.costUsd, out.output.length);
      this.afterCall(callModel, writer, true);
      return out;
    };
    const released = (r: Reservation, callModel: string, writer: boolean): void => {
      // A failed attempt reports no usage, so nothing is priced for it.
      this.ledger.settle(r, 0, null);
      this.afterCall(callModel, writer, false);
    };
    /** Behind a cache writer or a full budget: waits, then calls. */
    const waitThenCall = async (
      callModel: string,
      p: PolicyCall,
      before: Promise<boolean> | boolean,
      worst: { usd: number; synthesisTokens: number },
    ): Promise<SubtaskOutput | null> => {
      const writer = typeof before === 'boolean' ? before : await before;
      const reservation =
        this.ledger.tryReserve(worst.usd, worst.synthesisTokens) ??
        (await this.ledger.reserve(worst.usd, worst.synthesisTokens));
      if (!reservation) {
        this.afterCall(callModel, writer, false);
        return null;
      }
      try {
        return settled(reservation, callModel, writer, await schedule(callModel, p));
      } catch (err) {
        released(reservation, callModel, writer);
        throw err;
      }
    };
    const once = (p: PolicyCall): Promise<SubtaskOutput | null> => {
      const callModel = p.model ?? model;
      const extra =
        subtask.title.length +
        subtask.instructions.length +
        (p.prefill?.length ?? 0) +
        (p.repair ? p.repair.previous.length + p.repair.issues.length : 0);
      const worst = this.subtaskWorstCase(callModel, extra);
      const before = this.beforeCall(callModel);
      const now = typeof before === 'boolean' ? this.ledger.tryReserve(worst.usd, worst.synthesisTokens) : null;
      if (typeof before !== 'boolean' || !now) return waitThenCall(callModel, p, before, worst);
      // The common case, nothing to wait for: one `then`, not an async function and its await. Each
      // promise in workflow code costs a stack trace capture (workflows/subtask-policy.ts), and this
      // runs for every call. The result is seen after as many microtask hops as the async path's,
      // so the order of the commands that follow is the same (test/replay.test.ts).
      let call: Promise<SubtaskOutput>;
      try {
        call = schedule(callModel, p);
      } catch (err) {
        released(now, callModel, before);
        return rejected(err);
      }
      return call.then(
        (out) => settled(now, callModel, before, out),
        (err: unknown) => {
          released(now, callModel, before);
          throw err;
        },
      );
    };
    const policy = {
      model,
      strongModel: models.strong,
      canContinue: c.previewChars === undefined && !this.input.subtaskOutputSchema && !this.input.workerThinkingTokens,
    };
    return runSubtaskPolicy(once, policy, end);
  }

  /**
   * A sub-agent under the budget: it gets an allowance — a fair share of what is left among the
   * `lanes` that will still need one (the job's concurrency, or fewer subtasks left), at least its
   * first turn's worst case, at most what `maxTurns` turns could cost — reserved up front and settled with what its turns actually cost. The sub-agent starts no
   * turn past its allowance (workflows/subagent.ts). Null when not even the first turn fits.
   * Without a budget the sub-agent just runs.
   */
  async runAgent(
    subtask: Subtask,
    input: SubagentInput,
    lanes: number,
    run: (input: SubagentInput) => Promise<SubagentResult>,
  ): Promise<SubagentResult | null> {
    if (this.ledger.limitUsd === null) return run(input);
    const model = input.model ?? this.models?.fast ?? 'unknown';
    const extra =
      subtask.title.length +
      subtask.instructions.length +
      AGENT_OVERHEAD_CHARS +
      TOOL_DEFINITION_CHARS * (subtask.tools?.length ?? 0);
    const first = this.subtaskWorstCase(model, extra);
    const firstTurnInputTokens = this.prefixTokens(model) + estimateInputTokens(PROMPT_OVERHEAD_CHARS + extra);
    // Each turn may add its answer and, per tool call, a result of up to MAX_TOOL_RESULT_CHARS.
    let most = 0;
    for (let k = 0; k < input.maxTurns; k++) {
      const grown = firstTurnInputTokens + k * (input.maxTokens + estimateInputTokens(MAX_TOOL_RESULT_CHARS));
      most += worstCaseUsd(model, { inputTokens: grown, maxOutputTokens: input.maxTokens });
    }
    const share = this.ledger.available(first.synthesisTokens) / Math.max(1, lanes);
    const allowanceUsd = roundUsd(Math.max(first.usd, Math.min(most, share)));
    const reservation = await this.ledger.reserve(allowanceUsd, first.synthesisTokens);
    if (!reservation) return null;
    try {
      const out = await run({ ...input, model, budget: { allowanceUsd, firstTurnInputTokens } });
      this.ledger.settle(reservation, out.call.costUsd, out.output.length);
      return out;
    } catch (err) {
      // A failed sub-agent's finished turns were paid for: its failure carries them (agentSummaryOf).
      const cause = unwrap(err);
      const turns = agentSummaryOf(cause)?.calls ?? [];
      this.ledger.settle(
        reservation,
        turns.reduce((n, c) => n + c.costUsd, 0),
        null,
      );
      if (cause instanceof ApplicationFailure && cause.type === 'BudgetExhausted') this.ledger.exhausted = true;
      throw err;
    }
  }

  /**
   * The synthesis's terms: parts trimmed to what the budget leaves, its worst case reserved.
   * Null when not even the trimmed synthesis fits (the job then ends without an answer).
   */
  async reserveSynthesis(
    parts: SynthesisPart[],
  ): Promise<{ parts: SynthesisPart[]; reservation: Reservation | null; maxTokens: number } | null> {
    const model = this.synthesisModel;
    const allowed = this.ledger.synthesisPartsChars();
    if (this.ledger.limitUsd === null || !model || allowed === null)
      return { parts, reservation: null, maxTokens: SYNTH_MAX_TOKENS };
    const total = parts.reduce((n, p) => n + (p.output?.length ?? 0), 0);
    let fitted = parts;
    if (total > allowed) {
      const per = Math.floor(allowed / Math.max(1, parts.length));
      fitted = parts.map((p) =>
        p.output !== null && p.output.length > per ? { ...p, output: `${p.output.slice(0, per)}\n[…trimmed]` } : p,
      );
    }
    const chars =
      PROMPT_OVERHEAD_CHARS +
      fitted.reduce(
        (n, p) => n + (p.output?.length ?? 0) + (p.error?.length ?? 0) + PART_FRAMING_CHARS + p.title.length,
        0,
      );
    this.ledger.setSynthesis({ model, baseInputTokens: 0, maxOutputTokens: 0, maxPartsTokens: 0 });
    const reservation = await this.ledger.reserve(
      worstCaseUsd(model, {
        inputTokens: this.prefixTokens(model) + estimateInputTokens(chars),
        maxOutputTokens: SYNTH_MAX_TOKENS + (this.input.plannerThinkingTokens ?? 0),
      }),
    );
    return reservation ? { parts: fitted, reservation, maxTokens: SYNTH_MAX_TOKENS } : null;
  }

  /** Why a job that was not cancelled or failed still ended short: the budget. */
  endReason(): string | null {
    if (!this.ledger.exhausted) return null;
    return `BudgetExhausted: the budget of $${this.ledger.limitUsd} was spent down to $${roundUsd((this.ledger.limitUsd ?? 0) - this.ledger.spent)}; the subtasks it could not pay for were skipped`;
  }

  /**
   * Calls a failed planning attempt paid for: spent now. Planning's reservation stays until the
   * plan is settled (nothing else reserves meanwhile), and the next attempt is allowed only what is
   * left of it.
   */
  paidOutsideReservation(calls: CallUsage[]): void {
    this.ledger.record(calls.reduce((n, c) => n + c.costUsd, 0));
  }

  settle(reservation: Reservation | null, calls: CallUsage[]): void {
    const paid = calls.reduce((n, c) => n + c.costUsd, 0);
    if (reservation) this.ledger.settle(reservation, paid, null);
    else this.ledger.record(paid);
  }
}
