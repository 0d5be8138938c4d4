/**
 * jobWorkflow: plan → (approve) → fan out → synthesize. Deterministic orchestration only: every
 * model call, file and clock read happens in activities, whose results the history keeps, so a
 * crashed or redeployed worker resumes here without re-running (or re-paying for) a finished subtask.
 * The fan-out modes write to one ledger (ledger.ts) through one subtask path (subtask.ts).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { RengaActivities } from '../activities';
import type { SharedContextRef } from '../activities/types';
import { FailureType, describeFailure, failure, unwrap } from '../shared/failures';
import type { JobInput, JobInputArg, JobStatus, Phase, Plan, Progress, ResultDocument } from '../shared/schemas';
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
import { keepRunningOnCancel, synthesisFailedNote } from './cancel';
import { jobDocument, jobProgress, type JobView } from './job-document';
import { reportJobEnded } from './job-metrics';
import { inOrder } from './lanes';
import { SubtaskLedger, type JobFatal } from './ledger';
import { planActivityOptions, planPayingForFailures } from './planning';
import { modelCallOptions } from './policy';
import { RedoRun } from './redo';
import { ProgressPublisher } from './report';
import { ShardedFanOut } from './shard-fanout';
import { JobSpend } from './spend';
import { runSubtaskLanes, type SubtaskRunner } from './subtask';
import { checkedJobInput } from './validation';

/** What the synthesizer reads at most, in characters, split evenly between subtasks. */
const SYNTHESIS_BUDGET_CHARS = 400_000;

/** What the progress query answers while the input check runs, before the job's state exists. */
const STARTING: Progress = {
  phase: 'planning',
  status: null,
  total: 0,
  completed: 0,
  failed: 0,
  running: 0,
  cancelRequested: false,
  costUsd: 0,
  tokens: { input: 0, output: 0 },
  subtasks: [],
  plannerModel: null,
  workerModel: null,
};

export async function jobWorkflow(rawInput: JobInputArg): Promise<ResultDocument> {
  // The input check is a local activity, and a query that arrives while it runs would find no
  // handler (`renga status` just after a start). JobRun replaces these; a signal or an update that
  // arrives meanwhile waits for JobRun's handlers (Temporal buffers them).
  setHandler(progressQuery, () => STARTING);
  setHandler(planQuery, () => null);
  const input = await checkedJobInput(rawInput);
  // The API checks ids before a start; this catches jobs started some other way (raw clients, the UI).
  const idProblem = workflowIdProblem(workflowInfo().workflowId);
  if (idProblem) {
    throw failure(FailureType.InvalidJobInput, `invalid job input: workflow id: ${idProblem}`, { nonRetryable: true });
  }
  return new JobRun(input).run();
}

/** One job's run. The state fields are public only to job-document.ts, which renders them (the class is not exported). */
class JobRun implements JobView {
  phase: Phase = 'planning';
  status: JobStatus | null = null;
  plan: Plan | null = null;
  answer: string | null = null;
  cancel: CancelRequest | null = null;
  plannerModel: string | null;
  /** Set when the plan is larger than `shardSize` and runs through child workflows (shard-fanout.ts). */
  sharded: ShardedFanOut | null = null;
  readonly ledger = new SubtaskLedger();
  /** Budget, routing, stop reasons and cache warm-up (workflows/spend.ts). */
  readonly spend: JobSpend;
  /** Jobs made by `renga redo`: the original's plan and outputs instead of planning (workflows/redo.ts). */
  readonly redo: RedoRun | null;
  private shared: SharedContextRef | null = null;
  private decision: { approved: true } | { approved: false; reason: string } | null = null;
  private readonly work = new CancellationScope();
  private readonly publisher: ProgressPublisher;
  private readonly callOptions: ActivityOptions;

  constructor(readonly input: JobInput) {
    this.plannerModel = input.plannerModel ?? null;
    this.callOptions = modelCallOptions(input);
    this.publisher = new ProgressPublisher(input.job, {
      progress: () => jobProgress(this),
      plan: () => this.plan,
      done: () => this.ledger.count('completed') + this.ledger.count('failed'),
      total: () => this.ledger.total,
    });
    this.spend = new JobSpend(input, (summary, extra) => this.activities(summary, extra));
    this.redo = input.redo ? new RedoRun(input.redo) : null;
    setHandler(progressQuery, () => jobProgress(this));
    setHandler(planQuery, () => this.plan);
    setHandler(resultQuery, () => jobDocument(this, this.status ?? 'cancelled'));
    setHandler(cancelSignal, (req) => {
      this.cancel = { synthesize: req?.synthesize ?? false, reason: req?.reason ?? null };
      if (!keepRunningOnCancel(this.phase, this.cancel)) this.work.cancel();
    });
    // Validators run before an update is accepted: a refused one leaves no trace in the history.
    const mustBeWaiting = () => {
      if (this.phase !== 'awaiting-approval' || this.decision) {
        throw failure(
          FailureType.NotAwaitingApproval,
          `the job is not waiting for plan approval (phase: ${this.phase})`,
          { nonRetryable: true },
        );
      }
    };
    setHandler(approvePlanUpdate, () => this.decide({ approved: true }), { validator: mustBeWaiting });
    setHandler(rejectPlanUpdate, ({ reason }) => this.decide({ approved: false, reason }), {
      validator: ({ reason }) => {
        mustBeWaiting();
        if (!reason?.trim())
          throw failure(FailureType.RejectionReasonMissing, 'a rejection needs a reason', { nonRetryable: true });
      },
    });
    this.report();
  }

  async run(): Promise<ResultDocument> {
    // Everything, synthesis included, runs in the cancellable scope: a cancel (our signal or a
    // Temporal cancel request) in any phase lands in the catch below, and the job still returns
    // its document with every finished subtask (see cancel.ts for the semantics).
    try {
      await this.work.run(async () => {
        await this.spend.preflight();
        if (this.redo) await this.adoptPlan(this.redo);
        else {
          await this.planStep();
          if (this.input.approvePlan) await this.awaitApproval();
        }
        await this.fanOut();
        await this.finish();
      });
    } catch (err) {
      if (!isCancellation(err)) throw this.end('failed', this.failure(err));
      // A Temporal cancel request (UI, `temporal workflow cancel`) lands here like our signal does.
      this.cancel ??= { synthesize: false, reason: 'cancel requested' };
    }
    if (this.ledger.fatal) throw this.end('failed', fatalFailure(this.ledger.fatal));
    if (this.cancel) return this.endCancelled(this.cancel);
    return this.end(this.ledger.count('failed') > 0 || this.spend.ledger.exhausted ? 'partial' : 'completed');
  }

  /** After the fan-out: fail the job if too much failed, else synthesize (still inside the work scope). */
  private async finish(): Promise<void> {
    const { ledger } = this;
    if (ledger.fatal || this.cancel) return;
    const failed = ledger.count('failed');
    // The budget stopped the fan-out: what never started is skipped, what finished is synthesized.
    const exhausted = this.spend.ledger.exhausted;
    if (exhausted) {
      ledger.skipUnfinished();
      if (ledger.count('completed') === 0) {
        const message = `the budget of $${this.input.budgetUsd} ran out before any subtask finished`;
        throw failure('BudgetExhausted', message, { nonRetryable: true });
      }
    }
    if (ledger.count('completed') === 0 || failed / ledger.total > this.input.maxFailureRatio) {
      const allowed = `more than ${Math.round(this.input.maxFailureRatio * 100)}% allowed`;
      const message = `${failed} of ${ledger.total} subtasks failed (${allowed}); first error: ${ledger.firstError()}`;
      throw failure(FailureType.TooManySubtasksFailed, message, { nonRetryable: true });
    }
    await this.synthesizeStep(failed > 0 || exhausted);
  }

  /** Cancelled: keep what finished, synthesize it if asked (and not done yet), and return the document. */
  private async endCancelled(cancel: CancelRequest): Promise<ResultDocument> {
    this.ledger.skipUnfinished();
    if (cancel.synthesize && this.answer === null && this.ledger.count('completed') > 0) {
      // The workflow scope itself may be cancelled: finish the synthesis regardless.
      const err = await CancellationScope.nonCancellable(() => this.synthesizeStep(true)).then(
        () => null,
        (e: unknown) => e,
      );
      if (err) cancel.reason = synthesisFailedNote(cancel.reason, describeFailure(unwrap(err)));
    }
    // Returned, not thrown: the run completes, so `renga result` reads the document either way.
    return this.end('cancelled');
  }

  private decide(decision: NonNullable<JobRun['decision']>): string {
    this.decision = decision;
    return decision.approved ? 'approved' : 'rejected';
  }

  /** Activities with a UI label (user metadata). */
  private activities(summary: string, extra: Partial<ActivityOptions> = {}) {
    return proxyActivities<RengaActivities>({ ...this.callOptions, ...extra, summary });
  }

  private async planStep(): Promise<void> {
    // Tools the job names must exist before anything is spent: UnknownTool fails the job here.
    const tools = this.input.tools?.length
      ? await this.activities('resolve tools').resolveTools({ patterns: this.input.tools })
      : undefined;
    const budget = await this.spend.reservePlan();
    const { allowanceUsd } = budget.planInput;
    // A failed attempt's paid calls count like any others (workflows/planning.ts).
    const out = await planPayingForFailures(
      this.input,
      ({ priorAttempts, paidUsd }) =>
        this.activities('plan', planActivityOptions(this.input)).planJob({
          job: this.input.job,
          context: this.input.context,
          maxSubtasks: this.input.maxSubtasks,
          model: this.input.plannerModel ?? null,
          ...(tools ? { tools } : {}),
          ...budget.planInput,
          ...(allowanceUsd !== undefined ? { allowanceUsd: Math.max(0, allowanceUsd - paidUsd) } : {}),
          ...(priorAttempts ? { priorAttempts } : {}),
          ...(this.input.plannerThinkingTokens ? { thinkingTokens: this.input.plannerThinkingTokens } : {}),
        }),
      (calls) => {
        this.spend.paidOutsideReservation(calls);
        this.ledger.addCalls(calls);
      },
    );
    this.spend.afterPlan(budget.reservation, out.calls, out.models, out.plan.subtasks.length);
    this.ledger.addCalls(out.calls);
    this.plannerModel = out.calls[0]?.model ?? this.plannerModel;
    this.plan = out.plan;
    this.shared = out.shared;
    this.ledger.add(out.plan.subtasks);
  }

  /** A redo: the original's plan and results, already decided and paid for; no planning, no approval. */
  private async adoptPlan(redo: RedoRun): Promise<void> {
    const { plan, shared } = await redo.adopt(this.input, this.ledger, this.spend, (summary, extra) =>
      this.activities(summary, extra),
    );
    this.plan = plan;
    this.shared = shared;
  }

  /** Durable wait: survives worker restarts; the deadline is a server-side timer. */
  private async awaitApproval(): Promise<void> {
    this.setPhase('awaiting-approval');
    const decided = await condition(() => this.decision !== null, `${this.input.approvalTimeoutSeconds}s`);
    if (!decided) {
      throw failure(
        FailureType.PlanApprovalTimedOut,
        `nobody approved or rejected the plan within ${this.input.approvalTimeoutSeconds}s`,
        { nonRetryable: true },
      );
    }
    if (this.decision && !this.decision.approved) {
      this.cancel = { synthesize: false, reason: `plan rejected: ${this.decision.reason}` };
      this.work.cancel();
      // Let the cancellation surface through the scope like any other cancel.
      await CancellationScope.current().cancelRequested;
    }
  }

  /** One of three modes, all writing to the ledger: Message Batches, child shards, or C direct lanes. */
  private async fanOut(): Promise<void> {
    this.setPhase('fanout');
    const { ledger, input } = this;
    const direct = this.subtaskRunner();
    const stopped = () => ledger.fatal !== null || this.spend.ledger.exhausted;
    // A redo runs its few subtasks as direct calls, whatever mode the original used.
    if (this.redo) {
      const todo = this.redo.todo(ledger);
      return runSubtaskLanes(direct, Math.min(input.concurrency, todo.length), inOrder(todo, stopped));
    }
    if (input.fanOut === 'batch-api') return fanOutViaMessageBatches(input, this.shared!, ledger, direct);
    if (ledger.total > input.shardSize) {
      this.sharded = new ShardedFanOut(input, this.shared!, ledger);
      await this.sharded.run();
      this.report(true);
      return;
    }
    // Queue-ahead only where every subtask is a plain call: a sub-agent is a child workflow, not a call.
    const queueAhead = input.queueAhead !== false && !ledger.subtasks.some((s) => s.tools?.length);
    await runSubtaskLanes(direct, Math.min(input.concurrency, ledger.total), inOrder(ledger.subtasks, stopped), {
      queueAhead,
    });
  }

  private subtaskRunner(): SubtaskRunner {
    return {
      ledger: this.ledger,
      total: this.ledger.total,
      shared: this.shared!,
      model: this.input.workerModel ?? null,
      maxTokens: this.input.subtaskMaxTokens,
      maxAttempts: this.input.maxAttempts,
      options: this.callOptions,
      labelled: true,
      job: this.input,
      spend: this.spend,
      // A job-fatal failure (e.g. an unknown model) cancels every call in flight.
      stop: () => this.work.cancel(),
      report: () => this.report(),
    };
  }

  private async synthesizeStep(partial: boolean): Promise<void> {
    this.setPhase('synthesizing');
    const parts =
      this.sharded?.synthesisParts() ??
      this.ledger.synthesisParts((finished) =>
        Math.max(500, Math.floor(SYNTHESIS_BUDGET_CHARS / Math.max(1, finished))),
      );
    const terms = await this.spend.reserveSynthesis(parts);
    // The budget could not even pay for a trimmed synthesis: the outputs stand without an answer.
    if (!terms) return;
    const out = await this.activities('synthesize').synthesize({
      shared: this.shared!,
      parts: terms.parts,
      model: this.spend.synthesisModel ?? this.input.plannerModel ?? null,
      partial,
      maxTokens: terms.maxTokens,
      ...(this.input.plannerThinkingTokens ? { thinkingTokens: this.input.plannerThinkingTokens } : {}),
    });
    this.spend.settle(terms.reservation, [out.call]);
    this.ledger.addCalls([out.call]);
    this.answer = out.answer;
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.report(true);
  }

  private report(force = false): void {
    this.publisher.publish(force);
  }

  /** Marks the job ended; returns the document, or the failure with the document attached. */
  private end(status: 'failed', failure: ApplicationFailure): ApplicationFailure;
  private end(status: Exclude<JobStatus, 'failed'>): ResultDocument;
  private end(status: JobStatus, cause?: ApplicationFailure): ResultDocument | ApplicationFailure {
    this.status = status;
    this.phase = 'done';
    this.report(true);
    reportJobEnded(status, jobProgress(this));
    const doc = jobDocument(this, status, cause);
    if (!cause) return doc;
    // The failure carries the document so finished work is never lost with the job; it keeps the
    // original's type and message, and what caused that.
    return failure(cause.type ?? FailureType.JobFailed, cause.message, {
      nonRetryable: true,
      details: [doc],
      cause: cause.cause,
    });
  }

  /** What ended the job when a step threw: the step's own failure, named and with its cause. */
  private failure(err: unknown): ApplicationFailure {
    // The workflow's own failures (TooManySubtasksFailed, PlanApprovalTimedOut) keep their message.
    if (err instanceof ApplicationFailure) return err;
    const cause = unwrap(err);
    const type = cause instanceof ApplicationFailure && cause.type ? cause.type : FailureType.JobFailed;
    return failure(type, `${this.phase} failed: ${describeFailure(cause)}`, { nonRetryable: true, cause });
  }
}

/** The job-fatal failure a subtask or shard recorded, as the job's failure. */
function fatalFailure(fatal: JobFatal): ApplicationFailure {
  return failure(fatal.type, fatal.message, { nonRetryable: true, cause: fatal.cause });
}
