/**
 * A job made by `renga redo` (client/redo.ts): instead of planning, it takes the original's plan,
 * puts the original's results of every subtask not redone into the ledger as they ended there
 * (unpaid: no call, no usage), runs the named subtasks again as direct calls — on `--model` when
 * given — and synthesizes. With no subtask named only the synthesis runs again (on `--model`).
 * Workflow-safe.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { SharedContextRef } from '../activities/types';
import type { JobInput, Plan, RedoSpec, ResultDocument, Subtask } from '../shared/schemas';
import type { SubtaskLedger } from './ledger';
import type { JobSpend } from './spend';

type Activities = (summary: string, extra?: Partial<ActivityOptions>) => RengaActivities;

export class RedoRun {
  constructor(private readonly spec: RedoSpec) {}

  /** The original's plan and results into the ledger; the shared context stored as planning would. */
  async adopt(
    input: JobInput,
    ledger: SubtaskLedger,
    spend: JobSpend,
    activities: Activities,
  ): Promise<{ plan: Plan; shared: SharedContextRef }> {
    const { spec } = this;
    const out = await activities(`redo of ${spec.of}: share the context`).shareContext({
      job: input.job,
      context: input.context,
    });
    ledger.add(spec.plan.subtasks);
    const redone = new Set(spec.subtasks);
    const reused = new Map(spec.reuse.map((r) => [r.id, r]));
    for (const s of spec.plan.subtasks) {
      if (redone.has(s.id)) continue;
      const result = reused.get(s.id);
      if (result) ledger.reuse(result, spec.of);
      // Not in the original's result (it never got that far): nothing to reuse, and not asked for.
      else ledger.settle(s.id, 'skipped', `not in the result of ${spec.of}`);
    }
    spend.adoptPlan(out.models, {
      subtasks: spec.plan.subtasks.length,
      redone: spec.subtasks,
      ...(spec.model ? { model: spec.model } : {}),
    });
    return { plan: spec.plan, shared: out.shared };
  }

  /** What runs again before the synthesis, in plan order. */
  todo(ledger: SubtaskLedger): Subtask[] {
    const redone = new Set(this.spec.subtasks);
    return ledger.subtasks.filter((s) => redone.has(s.id));
  }

  document(): NonNullable<ResultDocument['redo']> {
    const redone = new Set(this.spec.subtasks);
    return {
      of: this.spec.of,
      reused: this.spec.reuse.filter((r) => !redone.has(r.id)).map((r) => r.id),
      redone: this.spec.plan.subtasks.filter((s) => redone.has(s.id)).map((s) => s.id),
      model: this.spec.model ?? null,
    };
  }
}
