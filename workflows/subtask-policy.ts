/**
 * How one subtask's answer is accepted (workflow-safe). Every answer's stop reason is read:
 * - `max_tokens`: the answer is continued from where it stopped (the text so far as the assistant's
 *   turn), at most MAX_CONTINUATIONS times, then escalated to the strong model;
 * - `refusal`: escalated to the strong model;
 * - with an output schema, an invalid answer gets one repair round, then is escalated.
 * A subtask is never `completed` with a truncated, refused or invalid answer: when the strong model
 * cannot do better either, the subtask fails with a named reason.
 */
import type { SubtaskForCall, SubtaskOutput } from '../activities/types';
import type { CallUsage, Subtask } from '../shared/schemas';

export const MAX_CONTINUATIONS = 2;

export interface PolicyCall {
  /** null: the worker's configured default model. */
  model: string | null;
  prefill?: string;
  repair?: { previous: string; issues: string };
}

/** Where a policy run without a promise of its own reports (see runSubtaskPolicy); neither may throw. */
export interface PolicyEnd {
  ok(o: PolicyOutcome): void;
  fail(err: unknown): void;
}

/** Runs one model call; null when the budget did not allow it to start. */
export type CallOnce = (c: PolicyCall) => Promise<SubtaskOutput | null>;

export interface PolicyOptions {
  model: string | null;
  /** Where refusals, truncations and invalid answers go; equal to `model` means nowhere. */
  strongModel: string | null;
  /** Continuations need the full text so far (not a preview) and no thinking or structured output. */
  canContinue: boolean;
}

export interface PolicyOutcome {
  state: 'completed' | 'failed' | 'skipped';
  output: string | null;
  outputRef?: string;
  model: string | null;
  stopReason: string | null;
  escalatedFrom: string | null;
  calls: CallUsage[];
  attempts: number;
  /** Failure type and message when not completed. */
  error: { type: 'Refused' | 'Truncated' | 'InvalidOutput' | 'BudgetExhausted'; message: string } | null;
}

/** A subtask as a call's input carries it: only what the prompt reads (activities/types.ts). */
export function forCall(subtask: Subtask): SubtaskForCall {
  return { id: subtask.id, title: subtask.title, instructions: subtask.instructions };
}

/** What an async function returns for an error thrown in it: the path below is `then`s, not async. */
export function rejected(err: unknown): Promise<never> {
  return Promise.reject(err instanceof Error ? err : new Error(String(err)));
}

/**
 * A chain of `then`s, not an async loop: an async function and each of its awaits make a promise,
 * and the SDK captures a source-mapped stack trace for every promise workflow code creates (for
 * the Web UI's stack trace). One promise per call instead of two, for every subtask of every job.
 */
export function runSubtaskPolicy(callOnce: CallOnce, o: PolicyOptions): Promise<PolicyOutcome>;
/**
 * With `end`: the outcome goes to `end.ok` from within the last call's own `then`, and a failure to
 * `end.fail`; no promise of its own (workflows/subtask.ts, runOneSubtaskThen).
 */
export function runSubtaskPolicy(callOnce: CallOnce, o: PolicyOptions, end: PolicyEnd): void;
export function runSubtaskPolicy(callOnce: CallOnce, o: PolicyOptions, end?: PolicyEnd): Promise<PolicyOutcome> | void;
export function runSubtaskPolicy(callOnce: CallOnce, o: PolicyOptions, end?: PolicyEnd): Promise<PolicyOutcome> | void {
  let model = o.model;
  let escalatedFrom: string | null = null;
  /** The model that answered last (what the API reports), for the record. */
  let answered: string | null = null;
  let text = '';
  let continuations = 0;
  let repair: PolicyCall['repair'];
  let repaired = false;
  const calls: CallUsage[] = [];
  let last: SubtaskOutput | null = null;

  const outcome = (
    state: PolicyOutcome['state'],
    error: PolicyOutcome['error'],
    output: string | null = null,
  ): PolicyOutcome => ({
    state,
    output,
    ...(state === 'completed' && last?.outputRef ? { outputRef: last.outputRef } : {}),
    model: answered ?? model,
    stopReason: last?.stopReason ?? null,
    escalatedFrom,
    calls,
    attempts: last?.attempt ?? 0,
    error,
  });
  /** Starts over on the strong model; false when there is no stronger model to go to. */
  const escalate = (): boolean => {
    if (escalatedFrom !== null || o.strongModel === null || model === o.strongModel) return false;
    escalatedFrom = model;
    model = o.strongModel;
    text = '';
    continuations = 0;
    repair = undefined;
    repaired = false;
    return true;
  };

  /** The outcome after this answer, or null to call again (continue, escalate or repair). */
  const decide = (out: SubtaskOutput | null): PolicyOutcome | null => {
    if (out === null) {
      return outcome(calls.length ? 'failed' : 'skipped', {
        type: 'BudgetExhausted',
        message: `the budget does not allow another call on ${model ?? 'the worker model'}`,
      });
    }
    last = out;
    answered = out.call.model;
    calls.push(out.call);
    repair = undefined;
    const stop = out.stopReason ?? 'end_turn';
    if (stop === 'refusal') {
      if (escalate()) return null;
      return outcome('failed', { type: 'Refused', message: `${answered} refused the subtask` });
    }
    if (stop === 'max_tokens') {
      if (o.canContinue && continuations < MAX_CONTINUATIONS) {
        text += out.output;
        continuations += 1;
        return null;
      }
      if (escalate()) return null;
      return outcome('failed', {
        type: 'Truncated',
        message: `the answer on ${answered} was still cut off at max_tokens after ${continuations} continuation(s)`,
      });
    }
    const full = text + out.output;
    if (out.invalid) {
      if (!repaired) {
        repaired = true;
        repair = { previous: full, issues: out.invalid };
        text = '';
        return null;
      }
      if (escalate()) return null;
      return outcome('failed', {
        type: 'InvalidOutput',
        message: `the answer on ${answered} does not match the output schema after a repair round: ${out.invalid}`,
      });
    }
    return outcome('completed', null, full);
  };
  const nextCall = (): PolicyCall => ({ model, ...(text ? { prefill: text } : {}), ...(repair ? { repair } : {}) });
  if (end) {
    const stepThen = (): void => {
      let call: Promise<SubtaskOutput | null>;
      try {
        call = callOnce(nextCall());
      } catch (err) {
        end.fail(err);
        return;
      }
      void call.then((out) => {
        let decided: PolicyOutcome | null;
        try {
          decided = decide(out);
        } catch (err) {
          end.fail(err);
          return;
        }
        if (decided) end.ok(decided);
        else stepThen();
      }, end.fail);
    };
    stepThen();
    return;
  }
  const step = (): Promise<PolicyOutcome> => {
    let call: Promise<SubtaskOutput | null>;
    try {
      call = callOnce(nextCall());
    } catch (err) {
      return rejected(err);
    }
    return call.then((out) => decide(out) ?? step());
  };
  return step();
}
