/**
 * jobWorkflow: plan → fan out → synthesize. Deterministic orchestration only: every model call,
 * file and clock read happens in activities, whose results the history keeps, so a crashed or
 * redeployed worker resumes here without re-running (or re-paying for) a finished subtask.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  type RetryPolicy,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { SharedContextRef, SynthesisPart } from '../activities/types';
import { roundUsd, ZERO_USAGE } from '../shared/pricing';
import {
  JobInputSchema,
  describeZodError,
  type CallUsage,
  type JobInput,
  type JobInputArg,
  type JobStatus,
  type Phase,
  type Plan,
  type ResultDocument,
  type SubtaskResult,
  type SubtaskState,
} from '../shared/schemas';
import { cancelSignal, planQuery, progressQuery, type CancelRequest } from './definitions';
import { ShardedFanOut } from './shard';

/** Types that mean every other call would fail the same way: stop the job instead of retrying N times. */
const FATAL_FOR_JOB = new Set(['ModelNotFound', 'AuthenticationFailed', 'PermissionDenied']);
/** What the synthesizer reads at most, in characters, split evenly between subtasks. */
const SYNTHESIS_BUDGET_CHARS = 400_000;

interface SubtaskTrack {
  state: SubtaskState;
  attempts: number;
  output: string | null;
  model: string | null;
  usage: SubtaskResult['usage'];
  error: string | null;
}

export async function jobWorkflow(rawInput: JobInputArg): Promise<ResultDocument> {
  const parsed = JobInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: 'InvalidJobInput',
      nonRetryable: true,
      message: `invalid job input: ${describeZodError(parsed.error)}`,
    });
  }
  const input: JobInput = parsed.data;
  const job = new JobRun(input);
  return job.run();
}

class JobRun {
  private phase: Phase = 'planning';
  private plan: Plan | null = null;
  private shared: SharedContextRef | null = null;
  private readonly tracks = new Map<string, SubtaskTrack>();
  private readonly calls: CallUsage[] = [];
  private answer: string | null = null;
  private cancel: CancelRequest | null = null;
  private fatal: ApplicationFailure | null = null;
  private readonly work = new CancellationScope();
  /** Set when the plan is larger than `shardSize` and runs through child workflows (workflows/shard.ts). */
  private sharded: ShardedFanOut | null = null;

  private readonly acts;
  private readonly subtaskActs;

  constructor(private readonly input: JobInput) {
    const retry: RetryPolicy = {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '60s',
      maximumAttempts: input.maxAttempts,
    };
    this.acts = proxyActivities<RengaActivities>({
      startToCloseTimeout: '15 minutes',
      heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
      retry,
    });
    this.subtaskActs = proxyActivities<RengaActivities>({
      startToCloseTimeout: `${input.subtaskTimeoutSeconds}s`,
      heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
      retry,
    });
    setHandler(progressQuery, () => this.progress());
    setHandler(planQuery, () => this.plan);
    setHandler(cancelSignal, (req) => {
      this.cancel = { synthesize: req?.synthesize ?? false, reason: req?.reason ?? null };
      this.work.cancel();
    });
  }

  async run(): Promise<ResultDocument> {
    try {
      await this.work.run(async () => {
        await this.planStep();
        await this.fanOut();
      });
    } catch (err) {
      if (!isCancellation(err)) throw this.failJob(err);
      // A Temporal cancel request (UI, `temporal workflow cancel`) lands here like our signal does.
      this.cancel ??= { synthesize: false, reason: 'cancel requested' };
    }
    if (this.fatal) throw this.fatal;

    const done = [...this.tracks.values()].filter((t) => t.state === 'completed').length;
    const failed = [...this.tracks.values()].filter((t) => t.state === 'failed').length;
    const total = this.tracks.size;

    if (this.cancel) {
      for (const t of this.tracks.values()) if (t.state === 'queued' || t.state === 'running') t.state = 'skipped';
      if (this.cancel.synthesize && done > 0) {
        // The workflow scope itself may be cancelled: finish the synthesis regardless.
        await CancellationScope.nonCancellable(() => this.synthesizeStep(true));
      }
      return this.document('cancelled');
    }
    if (done === 0 || failed / total > this.input.maxFailureRatio) {
      throw ApplicationFailure.create({
        type: 'TooManySubtasksFailed',
        nonRetryable: true,
        message: `${failed} of ${total} subtasks failed (more than ${Math.round(this.input.maxFailureRatio * 100)}% allowed); first error: ${this.firstError()}`,
        details: [this.document('failed')],
      });
    }
    await this.synthesizeStep(failed > 0);
    return this.document(failed > 0 ? 'partial' : 'completed');
  }

  private async planStep(): Promise<void> {
    const out = await this.acts.planJob({
      job: this.input.job,
      context: this.input.context,
      maxSubtasks: this.input.maxSubtasks,
      model: this.input.plannerModel ?? null,
    });
    this.calls.push(...out.calls);
    this.plan = out.plan;
    this.shared = out.shared;
    for (const s of out.plan.subtasks) {
      this.tracks.set(s.id, { state: 'queued', attempts: 0, output: null, model: null, usage: ZERO_USAGE, error: null });
    }
  }

  /** Bounded concurrency: C lanes, each taking the next queued subtask until none are left. */
  private async fanOut(): Promise<void> {
    this.phase = 'fanout';
    const subtasks = this.plan!.subtasks;
    if (subtasks.length > this.input.shardSize) {
      this.sharded = new ShardedFanOut(this.input, subtasks, this.shared!, this.tracks, this.calls);
      const fatal = await this.sharded.run();
      if (fatal) this.fatal = ApplicationFailure.create({ ...fatal, nonRetryable: true, details: [this.document('failed')] });
      return;
    }
    let next = 0;
    const lane = async () => {
      while (next < subtasks.length && !this.fatal) {
        const subtask = subtasks[next++];
        await this.runSubtask(subtask.id, subtasks.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.input.concurrency, subtasks.length) }, lane));
  }

  private async runSubtask(id: string, total: number): Promise<void> {
    const track = this.tracks.get(id)!;
    const subtask = this.plan!.subtasks.find((s) => s.id === id)!;
    track.state = 'running';
    try {
      const out = await this.subtaskActs.runSubtask(
        { subtask, total, shared: this.shared!, model: this.input.workerModel ?? null, maxTokens: this.input.subtaskMaxTokens },
      );
      Object.assign(track, {
        state: 'completed',
        attempts: out.attempt,
        output: out.output,
        model: out.call.model,
        usage: out.call.usage,
        error: null,
      });
      this.calls.push(out.call);
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      track.state = 'failed';
      track.error = describeFailure(cause);
      track.attempts = attemptOf(cause) ?? this.input.maxAttempts;
      if (cause instanceof ApplicationFailure && cause.type && FATAL_FOR_JOB.has(cause.type) && !this.fatal) {
        this.fatal = ApplicationFailure.create({
          type: cause.type,
          nonRetryable: true,
          message: `subtask ${id} failed: ${cause.message}`,
          details: [this.document('failed')],
        });
        this.work.cancel();
      }
    }
  }

  private async synthesizeStep(partial: boolean): Promise<void> {
    this.phase = 'synthesizing';
    const finished = this.plan!.subtasks.filter((s) => this.tracks.get(s.id)!.state !== 'skipped');
    const perPart = Math.max(500, Math.floor(SYNTHESIS_BUDGET_CHARS / Math.max(1, finished.length)));
    const parts: SynthesisPart[] = this.sharded?.synthesisParts() ?? finished.map((s) => {
      const t = this.tracks.get(s.id)!;
      // Trimmed here, not in the activity, so the activity input in the history stays small too.
      const output = t.output !== null && t.output.length > perPart ? `${t.output.slice(0, perPart)}\n[…trimmed]` : t.output;
      return { id: s.id, title: s.title, output, error: t.error };
    });
    const out = await this.acts.synthesize({ shared: this.shared!, parts, model: this.input.plannerModel ?? null, partial });
    this.calls.push(out.call);
    this.answer = out.answer;
    this.phase = 'done';
  }

  private failJob(err: unknown): ApplicationFailure {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'JobFailed';
    return ApplicationFailure.create({
      type,
      nonRetryable: true,
      message: `${this.phase} failed: ${describeFailure(cause)}`,
      details: [this.document('failed')],
    });
  }

  private firstError(): string {
    for (const t of this.tracks.values()) if (t.error) return t.error;
    return 'none recorded';
  }

  private usageTotals(): ResultDocument['usage'] {
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

  private progress() {
    const tracks = this.plan?.subtasks.map((s) => ({ s, t: this.tracks.get(s.id)! })) ?? [];
    const count = (state: SubtaskState) => tracks.filter(({ t }) => t.state === state).length;
    return {
      phase: this.phase,
      total: tracks.length,
      completed: count('completed'),
      failed: count('failed'),
      running: count('running'),
      cancelRequested: this.cancel !== null,
      costUsd: this.usageTotals().costUsd,
      subtasks: tracks.map(({ s, t }) => ({ id: s.id, title: s.title, state: t.state, attempts: t.attempts, error: t.error })),
    };
  }

  private document(status: JobStatus): ResultDocument {
    const fallbackModel = this.input.workerModel ?? 'default';
    const doc: ResultDocument = {
      workflowId: workflowInfo().workflowId,
      status,
      plan: this.plan,
      subtasks: (this.plan?.subtasks ?? []).map((s) => {
        const t = this.tracks.get(s.id)!;
        return {
          id: s.id,
          status: t.state === 'completed' ? 'completed' : t.state === 'failed' ? 'failed' : 'skipped',
          output: t.output,
          model: t.model ?? fallbackModel,
          attempts: t.attempts,
          usage: t.usage ?? { ...ZERO_USAGE },
          error: t.error,
        };
      }),
      answer: this.answer,
      usage: this.usageTotals(),
      timing: {
        // Workflow time is replay-safe (it comes from the history, not the machine's clock).
        startedAt: workflowInfo().startTime.toISOString(),
        endedAt: new Date().toISOString(),
      },
      error: status === 'failed' ? this.firstError() : null,
    };
    return this.sharded ? this.sharded.compact(doc) : doc;
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function attemptOf(err: unknown): number | null {
  if (!(err instanceof ApplicationFailure)) return null;
  const d = err.details?.[0];
  if (d && typeof d === 'object' && 'attempt' in d && typeof d.attempt === 'number') return d.attempt;
  return null;
}
