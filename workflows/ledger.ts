/**
 * The subtask ledger: what every fan-out mode (direct lanes, shards, Message Batches) writes to, and
 * what progress, the result document and the shard summaries are read from. One per workflow run;
 * a shard child keeps its own and hands the parent a summary, never a reference to its maps.
 */
import type { SynthesisPart } from '../activities/types';
import { ZERO_USAGE, addUsage, roundUsd } from '../shared/pricing';
import { agentFields, agentTotal } from './subagent';
import type { PolicyOutcome } from './subtask-policy';
import type { AgentSummary } from './subagent-definitions';
import type {
  CallUsage,
  Progress,
  ResultDocument,
  Subtask,
  SubtaskResult,
  SubtaskState,
  TokenUsage,
} from '../shared/schemas';

interface Entry {
  subtask: Subtask;
  state: SubtaskState;
  attempts: number;
  output: string | null;
  outputRef: string | null;
  model: string | null;
  usage: TokenUsage;
  error: string | null;
  /** Sub-agents (subtasks with tools): turns, tool calls and transcript. */
  agent?: AgentSummary;
  /** Plain subtasks (workflows/subtask-policy.ts): how the answer ended, escalation, cost per model. */
  quality?: Pick<SubtaskResult, 'stopReason' | 'escalatedFrom' | 'costByModel'>;
  /** `renga redo`: the job this result was taken from, unpaid (workflows/redo.ts). */
  reusedFrom?: string;
}

/** The first failure that stops the whole job (a model that does not exist fails every call). */
export interface JobFatal {
  type: string;
  message: string;
  cause?: Error;
}

export interface Completion {
  output: string;
  outputRef?: string;
  call: CallUsage;
  attempt: number;
  agent?: AgentSummary;
}

export class SubtaskLedger {
  private readonly entries = new Map<string, Entry>();
  private readonly order: Entry[] = [];
  /** Subtasks in each state, kept as they move: progress reads them on every start and end. */
  private readonly counts = new Map<SubtaskState, number>();
  private readonly calls: CallUsage[] = [];
  private stop: JobFatal | null = null;
  /** Model of the first completed subtask call: the worker model the job actually used. */
  private firstWorkerModel: string | null = null;

  add(subtasks: readonly Subtask[]): void {
    for (const subtask of subtasks) {
      const entry: Entry = {
        subtask,
        state: 'queued',
        attempts: 0,
        output: null,
        outputRef: null,
        model: null,
        usage: ZERO_USAGE,
        error: null,
      };
      this.entries.set(subtask.id, entry);
      this.order.push(entry);
      this.counts.set('queued', (this.counts.get('queued') ?? 0) + 1);
    }
  }

  get subtasks(): Subtask[] {
    return this.order.map((e) => e.subtask);
  }

  subtask(id: string): Subtask {
    return this.entry(id).subtask;
  }

  start(id: string): void {
    this.move(this.entry(id), 'running');
  }

  /** Every change of an entry's state goes through here, so `count` stays O(1). */
  private move(e: Entry, state: SubtaskState): void {
    this.counts.set(e.state, (this.counts.get(e.state) ?? 0) - 1);
    this.counts.set(state, (this.counts.get(state) ?? 0) + 1);
    e.state = state;
  }

  complete(id: string, done: Completion): void {
    const e = this.entry(id);
    if (done.agent) e.agent = done.agent;
    this.move(e, 'completed');
    Object.assign(e, {
      attempts: done.attempt,
      output: done.output,
      outputRef: done.outputRef ?? null,
      model: done.call.model,
      usage: done.call.usage,
      error: null,
    });
    this.firstWorkerModel ??= done.call.model;
    this.calls.push(done.call);
  }

  /** `agent`: what a failed sub-agent did before failing; its finished turns were paid for, so they count. */
  fail(id: string, error: string, attempts: number, agent: AgentSummary | null = null): void {
    const e = this.entry(id);
    e.agent = agent ?? e.agent;
    if (e.agent) {
      this.calls.push(...e.agent.calls);
      e.usage = agentTotal(e.agent.calls).usage;
    }
    this.move(e, 'failed');
    Object.assign(e, { error, attempts });
  }

  /**
   * A plain subtask's outcome through the stop-reason policy: every call it paid for counts; a
   * subtask the budget stopped before it could finish is skipped, not failed.
   */
  record(id: string, o: PolicyOutcome): void {
    const e = this.entry(id);
    this.calls.push(...o.calls);
    const usage = o.calls.reduce((u, c) => addUsage(u, c.usage), ZERO_USAGE);
    this.move(e, o.error?.type === 'BudgetExhausted' ? 'skipped' : o.state);
    Object.assign(e, {
      attempts: o.attempts,
      output: o.state === 'completed' ? o.output : null,
      outputRef: o.state === 'completed' ? (o.outputRef ?? null) : null,
      model: o.calls.length ? o.model : e.model,
      usage,
      error: o.error ? `${o.error.type}: ${o.error.message}` : null,
      quality: { stopReason: o.stopReason, escalatedFrom: o.escalatedFrom, costByModel: costByModel(o.calls) },
    });
    if (o.state === 'completed' && !o.escalatedFrom) this.firstWorkerModel ??= o.model;
  }

  /**
   * `renga redo`: a result of job `of` taken as it ended there. Nothing was paid for it in this
   * job, so it adds no call and no usage; its output is synthesized like a fresh one.
   */
  reuse(result: SubtaskResult, of: string): void {
    const e = this.entry(result.id);
    this.move(e, result.status);
    Object.assign(e, {
      attempts: 0,
      output: result.output,
      outputRef: result.outputRef ?? null,
      model: result.model,
      error: result.error,
      reusedFrom: of,
      quality: {
        ...(result.stopReason !== undefined ? { stopReason: result.stopReason } : {}),
        ...(result.escalatedFrom !== undefined ? { escalatedFrom: result.escalatedFrom } : {}),
      },
    });
  }

  /** Every call the job paid for, in order (the cost report re-prices them). */
  get allCalls(): readonly CallUsage[] {
    return this.calls;
  }

  /** An outcome known only as a state (a shard reports counts and errors, its outputs stay in the blob store). */
  settle(id: string, state: 'completed' | 'failed' | 'skipped', error: string | null): void {
    const e = this.entry(id);
    this.move(e, state);
    e.error = error;
  }

  /** After a cancel: whatever had not finished never will. */
  skipUnfinished(): void {
    for (const e of this.order) if (e.state === 'queued' || e.state === 'running') this.move(e, 'skipped');
  }

  /** Calls that belong to no subtask (plan, synthesis) or arrive summed per model (shards). */
  addCalls(calls: readonly CallUsage[]): void {
    this.calls.push(...calls);
  }

  /** Records the first job-fatal failure; true when this one is it (later ones are ordinary failures). */
  stopJob(fatal: JobFatal): boolean {
    if (this.stop) return false;
    this.stop = fatal;
    return true;
  }

  get fatal(): JobFatal | null {
    return this.stop;
  }

  get workerModel(): string | null {
    return this.firstWorkerModel;
  }

  get total(): number {
    return this.order.length;
  }

  count(state: SubtaskState): number {
    return this.counts.get(state) ?? 0;
  }

  firstError(): string {
    for (const e of this.order) if (e.error) return e.error;
    return 'none recorded';
  }

  usageTotals(): ResultDocument['usage'] {
    const byModel: ResultDocument['usage']['byModel'] = {};
    let total = 0;
    for (const c of this.calls) {
      const m = (byModel[c.model] ??= { inputTokens: 0, outputTokens: 0, costUsd: 0 });
      // Input as billed: fresh input plus cache writes and reads.
      m.inputTokens += c.usage.inputTokens + c.usage.cacheWriteTokens + c.usage.cacheReadTokens;
      m.outputTokens += c.usage.outputTokens;
      m.costUsd = roundUsd(m.costUsd + c.costUsd);
      total += c.costUsd;
    }
    return { byModel, costUsd: roundUsd(total) };
  }

  /** One CallUsage per model, usage summed in call order (what a shard hands its parent). */
  callsByModel(): CallUsage[] {
    const sums = new Map<string, CallUsage>();
    for (const c of this.calls) {
      const sum = sums.get(c.model) ?? { model: c.model, usage: { ...ZERO_USAGE }, costUsd: 0 };
      sums.set(c.model, {
        model: sum.model,
        usage: addUsage(sum.usage, c.usage),
        costUsd: roundUsd(sum.costUsd + c.costUsd),
      });
    }
    return [...sums.values()];
  }

  progressRows(): Progress['subtasks'] {
    return this.order.map((e) => ({
      id: e.subtask.id,
      title: e.subtask.title,
      state: e.state,
      attempts: e.attempts,
      error: e.error,
      ...(e.agent ? { turns: e.agent.turns, toolCalls: e.agent.toolCalls.length } : {}),
    }));
  }

  /** The result document's entries; `fallbackModel` names the model of subtasks that never answered. */
  results(fallbackModel: string): SubtaskResult[] {
    return this.order.map((e) => resultOf(e, fallbackModel));
  }

  /** The results with each subtask's title and instructions (a shard's results blob). */
  resultsWithPlan(fallbackModel: string): (SubtaskResult & { title: string; instructions: string })[] {
    return this.order.map((e) => ({
      title: e.subtask.title,
      instructions: e.subtask.instructions,
      ...resultOf(e, fallbackModel),
    }));
  }

  /** What synthesis reads: every subtask that ran, each output trimmed to `perPartChars`. */
  synthesisParts(perPartChars: (finished: number) => number): SynthesisPart[] {
    const finished = this.order.filter((e) => e.state !== 'skipped');
    const max = perPartChars(finished.length);
    return finished.map((e) => ({
      id: e.subtask.id,
      title: e.subtask.title,
      // Trimmed in the workflow, not the activity, so the activity input in the history stays small too.
      output: e.output !== null && e.output.length > max ? `${e.output.slice(0, max)}\n[…trimmed]` : e.output,
      error: e.error,
    }));
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new Error(`no subtask ${id} in this ledger`);
    return e;
  }
}

function resultOf(e: Entry, fallbackModel: string): SubtaskResult {
  return {
    id: e.subtask.id,
    status: e.state === 'completed' ? 'completed' : e.state === 'failed' ? 'failed' : 'skipped',
    output: e.output,
    ...(e.outputRef !== null ? { outputRef: e.outputRef } : {}),
    model: e.model ?? fallbackModel,
    attempts: e.attempts,
    usage: e.usage,
    error: e.error,
    ...agentFields(e.agent),
    ...(e.quality ?? {}),
    ...(e.reusedFrom !== undefined ? { reusedFrom: e.reusedFrom } : {}),
  };
}

function costByModel(calls: readonly CallUsage[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.model] = roundUsd((out[c.model] ?? 0) + c.costUsd);
  return out;
}
