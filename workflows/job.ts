/**
 * jobWorkflow: plan → (approve) → fan out → synthesize. Deterministic orchestration only: every
 * model call, file and clock read happens in activities, whose results the history keeps, so a
 * crashed or redeployed worker resumes here without re-running (or re-paying for) a finished subtask.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
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
  type Progress,
  type ResultDocument,
  type SubtaskResult,
  type SubtaskState,
} from '../shared/schemas';
import * as SA from '../shared/search-attributes';
import { workflowIdProblem } from '../shared/workflow-id';
import { fanOutViaMessageBatches } from './batch-fanout';
import {
  approvePlanUpdate,
  cancelSignal,
  planQuery,
  progressQuery,
  rejectPlanUpdate,
  resultQuery,
  type CancelRequest,
} from './definitions';
import { keepRunningOnCancel, synthesisFailedNote, unwrap } from './cancel';
import { planActivityOptions } from './planning';
import { detailsMarkdown } from './details';
import { attemptOf, describeFailure } from './failures';
import { reportJobEnded } from './job-metrics';
import { ShardedFanOut } from './shard';
import { agentFields, agentSummaryOf, agentTotal, runSubagent, subagentInput } from './subagent';
import type { AgentSummary } from './subagent-definitions';

/** Types that mean every other call would fail the same way: stop the job instead of retrying N times. */
const FATAL_FOR_JOB = new Set(['ModelNotFound', 'AuthenticationFailed', 'PermissionDenied']);
/** What the synthesizer reads at most, in characters, split evenly between subtasks. */
const SYNTHESIS_BUDGET_CHARS = 400_000;
/** Search attribute updates are history events: about this many per job, whatever its size. */
const PROGRESS_UPDATES_PER_JOB = 20;

interface SubtaskTrack {
  state: SubtaskState;
  attempts: number;
  output: string | null;
  model: string | null;
  usage: SubtaskResult['usage'];
  error: string | null;
  /** Sub-agents (subtasks with tools): turns, tool calls and transcript. */
  agent?: AgentSummary;
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
  // The API checks ids before a start; this catches jobs started some other way (raw clients, the UI).
  const idProblem = workflowIdProblem(workflowInfo().workflowId);
  if (idProblem) {
    throw ApplicationFailure.create({
      type: 'InvalidJobInput',
      nonRetryable: true,
      message: `invalid job input: workflow id: ${idProblem}`,
    });
  }
  return new JobRun(parsed.data).run();
}

class JobRun {
  private phase: Phase = 'planning';
  private status: JobStatus | null = null;
  private plan: Plan | null = null;
  private shared: SharedContextRef | null = null;
  private readonly tracks = new Map<string, SubtaskTrack>();
  private readonly calls: CallUsage[] = [];
  private answer: string | null = null;
  private cancel: CancelRequest | null = null;
  private decision: { approved: true } | { approved: false; reason: string } | null = null;
  private fatal: ApplicationFailure | null = null;
  private plannerModel: string | null;
  private workerModel: string | null;
  private lastReportedDone = -1;
  private readonly work = new CancellationScope();
  /** Only a job started with renga's search attributes updates them: on a server without them registered, an upsert would fail every workflow task. */
  private readonly searchAttributes = workflowInfo().typedSearchAttributes.get(SA.RengaPhase) !== undefined;
  private readonly activityDefaults: ActivityOptions;
  /** Set when the plan is larger than `shardSize` and runs through child workflows (workflows/shard.ts). */
  private sharded: ShardedFanOut | null = null;

  constructor(private readonly input: JobInput) {
    this.plannerModel = input.plannerModel ?? null;
    this.workerModel = input.workerModel ?? null;
    this.activityDefaults = {
      startToCloseTimeout: `${input.subtaskTimeoutSeconds}s`,
      heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
      retry: {
        initialInterval: '1s',
        backoffCoefficient: 2,
        maximumInterval: '60s',
        maximumAttempts: input.maxAttempts,
      },
    };
    setHandler(progressQuery, () => this.progress());
    setHandler(planQuery, () => this.plan);
    setHandler(resultQuery, () => this.document(this.status ?? 'cancelled'));
    setHandler(cancelSignal, (req) => {
      this.cancel = { synthesize: req?.synthesize ?? false, reason: req?.reason ?? null };
      if (!keepRunningOnCancel(this.phase, this.cancel)) this.work.cancel();
    });
    const mustBeWaiting = () => {
      if (this.phase !== 'awaiting-approval' || this.decision)
        throw new Error(`the job is not waiting for plan approval (phase: ${this.phase})`);
    };
    setHandler(
      approvePlanUpdate,
      () => {
        this.decision = { approved: true };
        return 'approved';
      },
      { validator: mustBeWaiting },
    );
    setHandler(
      rejectPlanUpdate,
      ({ reason }) => {
        this.decision = { approved: false, reason };
        return 'rejected';
      },
      {
        validator: ({ reason }) => {
          mustBeWaiting();
          if (!reason?.trim()) throw new Error('a rejection needs a reason');
        },
      },
    );
    this.report();
  }

  /** Activities with a UI label (user metadata) and, for subtasks, an id that names the subtask. */
  private activities(summary: string, extra: Partial<ActivityOptions> = {}) {
    return proxyActivities<RengaActivities>({ ...this.activityDefaults, ...extra, summary });
  }

  async run(): Promise<ResultDocument> {
    // Everything, synthesis included, runs in the cancellable scope: a cancel (our signal or a
    // Temporal cancel request) in any phase lands in the catch below, and the job still returns
    // its document with every finished subtask (see cancel.ts for the semantics).
    try {
      await this.work.run(async () => {
        await this.planStep();
        if (this.input.approvePlan) await this.awaitApproval();
        await this.fanOut();
        await this.finish();
      });
    } catch (err) {
      if (!isCancellation(err)) throw this.end('failed', this.failure(err));
      // A Temporal cancel request (UI, `temporal workflow cancel`) lands here like our signal does.
      this.cancel ??= { synthesize: false, reason: 'cancel requested' };
    }
    if (this.fatal) throw this.end('failed', this.fatal);
    if (!this.cancel) return this.end(this.tracksIn('failed') > 0 ? 'partial' : 'completed');

    for (const t of this.tracks.values()) if (t.state === 'queued' || t.state === 'running') t.state = 'skipped';
    if (this.cancel.synthesize && this.answer === null && this.tracksIn('completed') > 0) {
      // The workflow scope itself may be cancelled: finish the synthesis regardless.
      const err = await CancellationScope.nonCancellable(() => this.synthesizeStep(true)).then(
        () => null,
        (e: unknown) => e,
      );
      if (err) this.cancel.reason = synthesisFailedNote(this.cancel.reason, describeFailure(unwrap(err)));
    }
    // Returned, not thrown: the run completes, so `renga result` reads the document either way.
    return this.end('cancelled');
  }

  /** After the fan-out: fail the job if too much failed, else synthesize (still inside the work scope). */
  private async finish(): Promise<void> {
    if (this.fatal || this.cancel) return;
    const total = this.tracks.size;
    const failed = this.tracksIn('failed');
    if (this.tracksIn('completed') === 0 || failed / total > this.input.maxFailureRatio) {
      throw ApplicationFailure.create({
        type: 'TooManySubtasksFailed',
        nonRetryable: true,
        message: `${failed} of ${total} subtasks failed (more than ${Math.round(this.input.maxFailureRatio * 100)}% allowed); first error: ${this.firstError()}`,
      });
    }
    await this.synthesizeStep(failed > 0);
  }

  private tracksIn(state: SubtaskState): number {
    let n = 0;
    for (const t of this.tracks.values()) if (t.state === state) n++;
    return n;
  }

  private async planStep(): Promise<void> {
    // Tools the job names must exist before anything is spent: UnknownTool fails the job here.
    const tools = this.input.tools?.length
      ? await this.activities('resolve tools').resolveTools({ patterns: this.input.tools })
      : undefined;
    const out = await this.activities('plan', planActivityOptions(this.input)).planJob({
      job: this.input.job,
      context: this.input.context,
      maxSubtasks: this.input.maxSubtasks,
      model: this.input.plannerModel ?? null,
      ...(tools ? { tools } : {}),
    });
    this.calls.push(...out.calls);
    this.plannerModel = out.calls[0]?.model ?? this.plannerModel;
    this.plan = out.plan;
    this.shared = out.shared;
    for (const s of out.plan.subtasks) {
      this.tracks.set(s.id, {
        state: 'queued',
        attempts: 0,
        output: null,
        model: null,
        usage: ZERO_USAGE,
        error: null,
      });
    }
  }

  /** Durable wait: survives worker restarts; the deadline is a server-side timer. */
  private async awaitApproval(): Promise<void> {
    this.setPhase('awaiting-approval');
    const decided = await condition(() => this.decision !== null, `${this.input.approvalTimeoutSeconds}s`);
    if (!decided) {
      throw ApplicationFailure.create({
        type: 'PlanApprovalTimedOut',
        nonRetryable: true,
        message: `nobody approved or rejected the plan within ${this.input.approvalTimeoutSeconds}s`,
      });
    }
    if (this.decision && !this.decision.approved) {
      this.cancel = { synthesize: false, reason: `plan rejected: ${this.decision.reason}` };
      this.work.cancel();
      // Let the cancellation surface through the scope like any other cancel.
      await CancellationScope.current().cancelRequested;
    }
  }

  /** Bounded concurrency: C lanes, each taking the next queued subtask until none are left. */
  private async fanOut(): Promise<void> {
    this.setPhase('fanout');
    if (this.input.fanOut === 'batch-api') return this.fanOutBatchApi();
    const subtasks = this.plan!.subtasks;
    if (subtasks.length > this.input.shardSize) {
      this.sharded = new ShardedFanOut(this.input, subtasks, this.shared!, this.tracks, this.calls);
      const fatal = await this.sharded.run();
      // end() attaches the result document to the failure.
      if (fatal) this.fatal = ApplicationFailure.create({ ...fatal, nonRetryable: true });
      this.report(true);
      return;
    }
    let next = 0;
    const lane = async () => {
      for (let s = subtasks[next]; s !== undefined && !this.fatal; s = subtasks[next]) {
        next++;
        await this.runSubtask(s.id, subtasks.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.input.concurrency, subtasks.length) }, lane));
  }

  /** All subtasks as one Message Batch (workflows/batch-fanout.ts); failed items fall back to runSubtask. */
  private fanOutBatchApi(): Promise<void> {
    const subtasks = this.plan!.subtasks;
    return fanOutViaMessageBatches({
      input: this.input,
      subtasks,
      shared: this.shared!,
      markRunning: (id) => {
        this.tracks.get(id)!.state = 'running';
        this.report();
      },
      succeeded: (id, item) => {
        Object.assign(this.tracks.get(id)!, {
          state: 'completed',
          attempts: 1,
          output: item.output,
          model: item.call.model,
          usage: item.call.usage,
          error: null,
        });
        this.calls.push(item.call);
        this.workerModel ??= item.call.model;
        this.report();
      },
      runDirect: (id) => this.runSubtask(id, subtasks.length),
      stopped: () => this.fatal !== null,
    });
  }

  private async runSubtask(id: string, total: number): Promise<void> {
    const track = this.tracks.get(id)!;
    const subtask = this.plan!.subtasks.find((s) => s.id === id)!;
    track.state = 'running';
    this.report();
    try {
      // The one dispatch point for sub-agents: a subtask with tools runs as a child workflow.
      const out = subtask.tools?.length
        ? await runSubagent(subagentInput(this.input, subtask, total, this.shared!))
        : await this.activities(`subtask ${id}: ${subtask.title}`, { activityId: `subtask-${id}` }).runSubtask({
            subtask,
            total,
            shared: this.shared!,
            model: this.input.workerModel ?? null,
            maxTokens: this.input.subtaskMaxTokens,
          });
      if ('agent' in out) track.agent = out.agent;
      Object.assign(track, {
        state: 'completed',
        attempts: out.attempt,
        output: out.output,
        model: out.call.model,
        usage: out.call.usage,
        error: null,
      });
      this.workerModel ??= out.call.model;
      this.calls.push(out.call);
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : err;
      // A failed sub-agent's finished turns were paid for: count them, keep its transcript.
      track.agent = agentSummaryOf(cause) ?? track.agent;
      if (track.agent) {
        this.calls.push(...track.agent.calls);
        track.usage = agentTotal(track.agent.calls).usage;
      }
      track.state = 'failed';
      track.error = describeFailure(cause);
      track.attempts = attemptOf(cause) ?? this.input.maxAttempts;
      if (cause instanceof ApplicationFailure && cause.type && FATAL_FOR_JOB.has(cause.type) && !this.fatal) {
        this.fatal = ApplicationFailure.create({
          type: cause.type,
          nonRetryable: true,
          message: `subtask ${id} failed: ${cause.message}`,
        });
        this.work.cancel();
      }
    }
    this.report();
  }

  private async synthesizeStep(partial: boolean): Promise<void> {
    this.setPhase('synthesizing');
    const finished = this.plan!.subtasks.filter((s) => this.tracks.get(s.id)!.state !== 'skipped');
    const perPart = Math.max(500, Math.floor(SYNTHESIS_BUDGET_CHARS / Math.max(1, finished.length)));
    const parts: SynthesisPart[] =
      this.sharded?.synthesisParts() ??
      finished.map((s) => {
        const t = this.tracks.get(s.id)!;
        // Trimmed here, not in the activity, so the activity input in the history stays small too.
        const output =
          t.output !== null && t.output.length > perPart ? `${t.output.slice(0, perPart)}\n[…trimmed]` : t.output;
        return { id: s.id, title: s.title, output, error: t.error };
      });
    const out = await this.activities('synthesize').synthesize({
      shared: this.shared!,
      parts,
      model: this.input.plannerModel ?? null,
      partial,
    });
    this.calls.push(out.call);
    this.answer = out.answer;
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.report(true);
  }

  /**
   * Publishes progress: the page's current details (in memory, free) on every change; search
   * attributes (history events) on phase changes and every ~5% of subtasks.
   */
  private report(force = false): void {
    setCurrentDetails(detailsMarkdown(this.progress(), this.plan, this.input.job));
    if (!this.searchAttributes) return;
    const p = this.progress();
    const done = p.completed + p.failed;
    const step = Math.max(1, Math.ceil(p.total / PROGRESS_UPDATES_PER_JOB));
    if (!force && (done === this.lastReportedDone || (done % step !== 0 && done !== p.total))) return;
    this.lastReportedDone = done;
    upsertSearchAttributes([
      { key: SA.RengaPhase, value: this.phase },
      { key: SA.RengaStatus, value: this.status ?? 'running' },
      { key: SA.RengaSubtasksTotal, value: p.total },
      { key: SA.RengaSubtasksDone, value: p.completed },
      { key: SA.RengaCostUsd, value: p.costUsd },
      ...(this.plannerModel ? [{ key: SA.RengaPlannerModel, value: this.plannerModel }] : []),
      ...(this.workerModel ? [{ key: SA.RengaWorkerModel, value: this.workerModel }] : []),
    ]);
  }

  /** Marks the job ended; returns the document, or the failure with the document attached. */
  private end(status: 'failed', failure: ApplicationFailure): ApplicationFailure;
  private end(status: Exclude<JobStatus, 'failed'>): ResultDocument;
  private end(status: JobStatus, failure?: ApplicationFailure): ResultDocument | ApplicationFailure {
    this.status = status;
    this.phase = 'done';
    this.report(true);
    reportJobEnded(status, this.progress());
    const doc = this.document(status, failure);
    if (!failure) return doc;
    // The failure carries the document so finished work is never lost with the job.
    return ApplicationFailure.create({
      type: failure.type ?? undefined,
      nonRetryable: true,
      message: failure.message,
      details: [doc],
    });
  }

  private failure(err: unknown): ApplicationFailure {
    // The workflow's own failures (TooManySubtasksFailed, PlanApprovalTimedOut) keep their message.
    if (err instanceof ApplicationFailure) return err;
    const cause = unwrap(err);
    const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'JobFailed';
    return ApplicationFailure.create({
      type,
      nonRetryable: true,
      message: `${this.phase} failed: ${describeFailure(cause)}`,
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

  private progress(): Progress {
    const tracks = this.plan?.subtasks.map((s) => ({ s, t: this.tracks.get(s.id)! })) ?? [];
    const count = (state: SubtaskState) => tracks.filter(({ t }) => t.state === state).length;
    const usage = this.usageTotals();
    const byModel = Object.values(usage.byModel);
    return {
      phase: this.phase,
      status: this.status,
      total: tracks.length,
      completed: count('completed'),
      failed: count('failed'),
      running: count('running'),
      cancelRequested: this.cancel !== null,
      costUsd: usage.costUsd,
      tokens: {
        input: byModel.reduce((n, m) => n + m.inputTokens, 0),
        output: byModel.reduce((n, m) => n + m.outputTokens, 0),
      },
      subtasks: tracks.map(({ s, t }) => ({
        id: s.id,
        title: s.title,
        state: t.state,
        attempts: t.attempts,
        error: t.error,
        ...(t.agent ? { turns: t.agent.turns, toolCalls: t.agent.toolCalls.length } : {}),
      })),
      plannerModel: this.plannerModel,
      workerModel: this.workerModel,
    };
  }

  private document(status: JobStatus, failure?: ApplicationFailure): ResultDocument {
    const fallbackModel = this.workerModel ?? 'default';
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
          usage: t.usage,
          error: t.error,
          ...agentFields(t.agent),
        };
      }),
      answer: this.answer,
      usage: this.usageTotals(),
      timing: {
        // Workflow time is replay-safe (it comes from the history, not the machine's clock).
        startedAt: workflowInfo().startTime.toISOString(),
        endedAt: new Date().toISOString(),
      },
      error: failure ? `${failure.type}: ${failure.message}` : (this.cancel?.reason ?? null),
    };
    return this.sharded ? this.sharded.compact(doc) : doc;
  }
}
