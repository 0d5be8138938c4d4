/**
 * The typed TS API the CLI is built on: start a job, follow it, fetch its result document.
 * Input is validated here with the same schema the workflow uses, so bad input never starts a run.
 */
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/common';
import {
  Client,
  Connection,
  WorkflowFailedError,
  type WorkflowClientInterceptor,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import type { Tracer } from '@opentelemetry/api';
import type * as OtelInterceptorsModule from '@temporalio/interceptors-opentelemetry';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { compileOutputSchema } from '../activities/output-schema';
import { createCodecs } from '../shared/codec';
import { retryUntilServing, TemporalNotServingError, type RetryOptions } from '../temporal/connect';
import { loadClientConfig, type ClientConfig } from '../shared/config';
import { modelProblem } from '../shared/models';
import { workflowIdProblem } from '../shared/workflow-id';
import { connectionOptions, describeConnectError, isCredentialError } from '../shared/temporal-connection';
import { getRateLimitWait, type RateLimitWait } from './rate-limit-status';
import { startTracing } from '../shared/telemetry';
import {
  JobInputSchema,
  ResultDocumentSchema,
  describeZodError,
  type JobInput,
  type JobInputArg,
  type Progress,
  type ResultDocument,
} from '../shared/schemas';
import {
  RENGA_SEARCH_ATTRIBUTES,
  RengaCostUsd,
  RengaPhase,
  RengaRedoOf,
  RengaStatus,
  RengaSubtasksDone,
  RengaSubtasksTotal,
} from '../shared/search-attributes';
import {
  approvePlanUpdate,
  cancelSignal,
  progressQuery,
  rejectPlanUpdate,
  resultQuery,
  type CancelRequest,
} from '../workflows/definitions';
import type { jobWorkflow } from '../workflows';
import type { AgentProgress } from '../workflows/subagent-definitions';
import { liveAgents } from './agent-progress';

export class InvalidJobInputError extends Error {
  override readonly name = 'InvalidJobInputError';
}
export { TemporalAuthError, TemporalUnreachableError } from '../shared/temporal-connection';

export interface RengaClient {
  client: Client;
  config: ClientConfig;
  close(): Promise<void>;
}

/** How long an ordinary command waits for Temporal; `renga dev` waits longer for the server it started. */
export const CONNECT_WAIT_MS = 10_000;

export interface ConnectOptions {
  /** Keep retrying (with backoff) this long before exit 3. */
  waitMs?: number;
  onRetry?: RetryOptions['onRetry'];
}

/** Temporal's OpenTelemetry client interceptor, required only when tracing is on (shared/telemetry.ts). */
function tracingClientInterceptor(tracer: Tracer): WorkflowClientInterceptor {
  const { OpenTelemetryWorkflowClientInterceptor } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    require('@temporalio/interceptors-opentelemetry') as typeof OtelInterceptorsModule;
  return new OpenTelemetryWorkflowClientInterceptor({ tracer });
}

export async function connect(
  config: ClientConfig = loadClientConfig(),
  opts: ConnectOptions = {},
): Promise<RengaClient> {
  // Before the network: a bad key configuration is a usage error (exit 2), not an unreachable server.
  const codecs = createCodecs(config);
  const payloadCodecs = codecs.chain;
  // With OTEL_* set, `renga run/start` opens the job's trace; the workflow and its activities join it.
  const tracing = startTracing('renga-cli');
  let connection: Connection;
  try {
    connection = await retryUntilServing(
      config.TEMPORAL_ADDRESS,
      (timeoutMs) =>
        Connection.connect({
          ...connectionOptions(config.TEMPORAL_ADDRESS, config.temporal),
          connectTimeout: timeoutMs,
        }),
      {
        deadlineMs: opts.waitMs ?? CONNECT_WAIT_MS,
        attemptMs: 5_000,
        onRetry: opts.onRetry,
        // A refused key or certificate will not be accepted on a later attempt.
        isFinal: isCredentialError,
      },
    );
  } catch (err) {
    throw await describeConnectError(
      err instanceof TemporalNotServingError ? err.cause : err,
      config.TEMPORAL_ADDRESS,
      config.temporal,
    );
  }
  // Same codecs as the worker: inputs leave this process encrypted/offloaded, results come back readable.
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    // Encryption on: failure messages too, as the worker writes them (shared/failure-converter.ts).
    dataConverter: {
      payloadCodecs,
      ...(codecs.encryption.enabled ? { failureConverterPath: require.resolve('../shared/failure-converter') } : {}),
    },
    ...(tracing ? { interceptors: { workflow: [tracingClientInterceptor(tracing.tracer)] } } : {}),
  });
  return { client, config, close: () => connection.close() };
}

export function validateJobInput(input: JobInputArg): JobInput {
  const parsed = JobInputSchema.safeParse(input);
  if (!parsed.success) throw new InvalidJobInputError(describeZodError(parsed.error));
  if (parsed.data.subtaskOutputSchema) {
    try {
      compileOutputSchema(parsed.data.subtaskOutputSchema);
    } catch (err) {
      throw new InvalidJobInputError(`subtaskOutputSchema: ${(err as Error).message}`, { cause: err });
    }
  }
  return parsed.data;
}

export function newWorkflowId(job: string): string {
  const slug = job
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return `renga-${slug || 'job'}-${randomUUID().slice(0, 8)}`;
}

const registered = new WeakMap<Client, Promise<boolean>>();

/** gRPC status codes that answer "this server will not say" (e.g. Temporal Cloud's operator API): treated as "no". */
const NO_ANSWER_CODES = new Set([7 /* PERMISSION_DENIED */, 12 /* UNIMPLEMENTED */]);

/**
 * Whether the namespace has renga's search attributes; the answer is kept per client. A server that
 * refuses to say counts as "no" (and is kept); any other error is not an answer: it is thrown and the
 * next call asks again.
 */
export function hasRengaSearchAttributes(rc: RengaClient): Promise<boolean> {
  let known = registered.get(rc.client);
  if (!known) {
    known = rc.client.connection.operatorService
      .listSearchAttributes({ namespace: rc.config.TEMPORAL_NAMESPACE })
      .then((r) => Object.keys(RENGA_SEARCH_ATTRIBUTES).every((name) => name in (r.customAttributes ?? {})))
      .catch((err: unknown) => {
        const code = err && typeof err === 'object' && 'code' in err ? err.code : undefined;
        if (typeof code === 'number' && NO_ANSWER_CODES.has(code)) return false;
        registered.delete(rc.client);
        throw err;
      });
    registered.set(rc.client, known);
  }
  return known;
}

/** One line for the Web UI's workflow list: what the job is, at a glance. */
export function jobSummary(input: JobInput): string {
  const firstLine = input.job.split('\n').find((l) => l.trim()) ?? input.job;
  const title = firstLine.trim().length > 100 ? `${firstLine.trim().slice(0, 99)}…` : firstLine.trim();
  return `${title} · up to ${input.maxSubtasks} subtasks${input.approvePlan ? ' · plan needs approval' : ''}`;
}

function jobDetails(input: JobInput): string {
  const ctx = input.context.length
    ? input.context.map((c) => `\`${c.name}\` (${c.content.length} chars)`).join(', ')
    : 'none';
  const job = input.job.length > 2000 ? `${input.job.slice(0, 2000)}…` : input.job;
  return [
    `**Job:** ${job}`,
    '',
    `**Context:** ${ctx}`,
    `**Max subtasks:** ${input.maxSubtasks} · **concurrency:** ${input.concurrency} · **attempts per call:** ${input.maxAttempts}`,
    `**Planner model:** ${input.plannerModel ?? 'worker default'} · **worker model:** ${input.workerModel ?? 'worker default'}`,
    ...(input.redo
      ? [
          `**Redo of:** ${input.redo.of} · **runs again:** ${input.redo.subtasks.join(', ') || 'the synthesis only'}${input.redo.model ? ` on ${input.redo.model}` : ''}`,
        ]
      : []),
  ].join('\n');
}

/** Registers any of renga's search attributes the namespace lacks (dev servers, fresh namespaces). */
export async function ensureSearchAttributes(rc: RengaClient): Promise<void> {
  const svc = rc.client.connection.operatorService;
  const have = (await svc.listSearchAttributes({ namespace: rc.config.TEMPORAL_NAMESPACE })).customAttributes ?? {};
  const missing = Object.entries(RENGA_SEARCH_ATTRIBUTES).filter(([name]) => !(name in have));
  if (missing.length === 0) return;
  const T = temporal.api.enums.v1.IndexedValueType;
  const TYPE = {
    Keyword: T.INDEXED_VALUE_TYPE_KEYWORD,
    Int: T.INDEXED_VALUE_TYPE_INT,
    Double: T.INDEXED_VALUE_TYPE_DOUBLE,
    Bool: T.INDEXED_VALUE_TYPE_BOOL,
  } as const;
  await svc.addSearchAttributes({
    namespace: rc.config.TEMPORAL_NAMESPACE,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPE[type]])),
  });
  registered.delete(rc.client);
}

export async function startJob(
  rc: RengaClient,
  input: JobInputArg,
  opts: { workflowId?: string } = {},
): Promise<string> {
  const valid = validateJobInput(input);
  checkStartable(valid, opts.workflowId, rc.config.RENGA_EXTRA_MODELS);
  // Workflow ids are plaintext on the server: with encryption on they must not carry words of the job.
  const encrypted = Boolean(rc.config.RENGA_ENCRYPTION_KEYS || rc.config.RENGA_ENCRYPTION_KEYS_FILE);
  const workflowId = opts.workflowId ?? newWorkflowId(encrypted ? '' : valid.job);
  const withAttributes = await hasRengaSearchAttributes(rc);
  await rc.client.workflow
    .start<typeof jobWorkflow>('jobWorkflow', {
      args: [valid],
      taskQueue: rc.config.RENGA_TASK_QUEUE,
      workflowId,
      // An id names one job: reusing a finished job's id would hide its result behind a new run.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: jobSummary(valid),
      staticDetails: jobDetails(valid),
      // A redo names its original in the memo and, filterable, in RengaRedoOf (client/redo.ts).
      ...(valid.redo ? { memo: { redoOf: valid.redo.of } } : {}),
      // Their presence at start is what tells the workflow it may update them later.
      ...(withAttributes
        ? {
            typedSearchAttributes: [
              { key: RengaPhase, value: 'planning' },
              { key: RengaStatus, value: 'running' },
              ...(valid.redo ? [{ key: RengaRedoOf, value: valid.redo.of }] : []),
            ],
          }
        : {}),
    })
    .catch(async (err: unknown) => {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const status = await describeJob(rc, workflowId).then(
        (d) => d.status.name.toLowerCase(),
        () => 'existing',
      );
      throw new InvalidJobInputError(
        `--id ${workflowId}: a job with this id already exists (${status}); choose another id`,
      );
    });
  return workflowId;
}

/** What the workflow cannot check before it runs: the id's form and models the API serves. */
function checkStartable(input: JobInput, workflowId: string | undefined, extraModels: readonly string[]): void {
  const idProblem = workflowId === undefined ? null : workflowIdProblem(workflowId);
  if (idProblem) throw new InvalidJobInputError(`--id: ${idProblem}`);
  for (const [field, model] of [
    ['plannerModel', input.plannerModel],
    ['workerModel', input.workerModel],
    ['redo.model', input.redo?.model],
  ] as const) {
    const problem = model === undefined ? null : modelProblem(model, extraModels);
    if (problem) throw new InvalidJobInputError(`${field}: ${problem}`);
  }
}

/**
 * Waits for the job and returns its result document, whatever the outcome: a failed job carries
 * its partial document in the failure details, so finished work is never hidden from the caller.
 */
export async function getResult(rc: RengaClient, workflowId: string): Promise<ResultDocument> {
  const handle = rc.client.workflow.getHandle<typeof jobWorkflow>(workflowId);
  try {
    return ResultDocumentSchema.parse(await handle.result());
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const doc = ResultDocumentSchema.safeParse(cause.details?.[0]);
      if (doc.success) return { ...doc.data, error: `${cause.type ?? 'Error'}: ${cause.message}` };
    }
    const status = cause instanceof CancelledFailure ? 'cancelled' : 'failed';
    const reason =
      cause instanceof TerminatedFailure
        ? 'terminated'
        : cause instanceof TimeoutFailure
          ? 'timed out'
          : (cause?.message ?? err.message);
    // The run ended without returning its document (terminated, timed out, or a Temporal cancel on
    // an older version): ask the closed run for it, which a worker answers by replaying the history.
    const kept = await handle
      .query(resultQuery)
      .then((d) => ResultDocumentSchema.safeParse(d))
      .catch(() => null);
    if (kept?.success) return { ...kept.data, status, error: reason };
    const description = await handle.describe();
    return emptyDocument(workflowId, status, reason, description);
  }
}

function emptyDocument(
  workflowId: string,
  status: 'failed' | 'cancelled',
  error: string,
  d: WorkflowExecutionDescription,
): ResultDocument {
  return {
    workflowId,
    status,
    plan: null,
    subtasks: [],
    answer: null,
    usage: { byModel: {}, costUsd: 0 },
    timing: { startedAt: d.startTime.toISOString(), endedAt: (d.closeTime ?? d.startTime).toISOString() },
    error,
  };
}

export interface LiveSubtask {
  /** Attempt now running, from the server's pending-activity view (the workflow learns it only at the end). */
  attempt: number | null;
  lastError: string | null;
  /** Running sub-agents: their turn and tool calls so far. */
  agent?: AgentProgress;
}

export interface LiveProgress {
  workflowId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, … */
  execution: string;
  progress: Progress;
  live: Record<string, LiveSubtask>;
  /** Calls of this job waiting for admission at the shared rate limiter (client/rate-limit-status.ts). */
  rateLimit: RateLimitWait | null;
}

export async function getProgress(rc: RengaClient, workflowId: string): Promise<Progress> {
  return rc.client.workflow.getHandle(workflowId).query(progressQuery);
}

/** The workflow's own progress plus what only the server knows: retries of running subtasks. */
export async function getLiveProgress(rc: RengaClient, workflowId: string): Promise<LiveProgress> {
  const handle = rc.client.workflow.getHandle(workflowId);
  const [progress, description, rateLimit] = await Promise.all([
    handle.query(progressQuery),
    handle.describe(),
    getRateLimitWait(rc, workflowId),
  ]);
  const live: Record<string, LiveSubtask> = {};
  // A queued-ahead call waits on a worker as a pending activity while its subtask is still queued
  // (workflows/queue-ahead.ts): only subtasks that run are live.
  const queued = new Set(progress.subtasks.filter((s) => s.state === 'queued').map((s) => s.id));
  for (const a of description.raw.pendingActivities ?? []) {
    const id = a.activityId?.startsWith('subtask-') ? a.activityId.slice('subtask-'.length) : null;
    if (id && !queued.has(id)) live[id] = { attempt: a.attempt ?? null, lastError: a.lastFailure?.message ?? null };
  }
  // Sub-agents run as child workflows: their turn and tool calls come from each child's query.
  for (const [id, agent] of Object.entries(await liveAgents(rc, workflowId, description))) {
    live[id] = { ...(live[id] ?? { attempt: null, lastError: null }), agent };
  }
  return { workflowId, execution: description.status.name, progress, live, rateLimit };
}

export async function approvePlan(rc: RengaClient, workflowId: string): Promise<void> {
  await rc.client.workflow.getHandle(workflowId).executeUpdate(approvePlanUpdate);
}

export async function rejectPlan(rc: RengaClient, workflowId: string, reason: string): Promise<void> {
  await rc.client.workflow.getHandle(workflowId).executeUpdate(rejectPlanUpdate, { args: [{ reason }] });
}

export interface ListFilters {
  /** Temporal execution status (Running, Completed, Failed, …) or renga status (completed, partial, …). */
  status?: string;
  phase?: string;
  since?: Date;
  limit?: number;
}

export interface JobListing {
  workflowId: string;
  execution: string;
  status: string | null;
  phase: string | null;
  done: number | null;
  total: number | null;
  costUsd: number | null;
  startTime: Date;
}

const EXECUTION_STATUSES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut'];

/** Visibility query for renga jobs; values are quoted so user input cannot change the query. */
export function listQuery(f: ListFilters): string {
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const parts = [`WorkflowType = 'jobWorkflow'`];
  if (f.status) {
    const exec = EXECUTION_STATUSES.find((s) => s.toLowerCase() === f.status!.toLowerCase());
    parts.push(exec ? `ExecutionStatus = ${q(exec)}` : `RengaStatus = ${q(f.status)}`);
  }
  if (f.phase) parts.push(`RengaPhase = ${q(f.phase)}`);
  if (f.since) parts.push(`StartTime > ${q(f.since.toISOString())}`);
  return parts.join(' AND ');
}

export async function listJobs(rc: RengaClient, f: ListFilters = {}): Promise<JobListing[]> {
  const out: JobListing[] = [];
  const limit = f.limit ?? 50;
  for await (const w of rc.client.workflow.list({ query: listQuery(f) })) {
    out.push(toListing(w));
    if (out.length >= limit) break;
  }
  return out;
}

function toListing(w: WorkflowExecutionInfo): JobListing {
  const sa = w.typedSearchAttributes;
  return {
    workflowId: w.workflowId,
    execution: w.status.name,
    status: sa.get(RengaStatus) ?? null,
    phase: sa.get(RengaPhase) ?? null,
    done: sa.get(RengaSubtasksDone) ?? null,
    total: sa.get(RengaSubtasksTotal) ?? null,
    costUsd: sa.get(RengaCostUsd) ?? null,
    startTime: w.startTime,
  };
}

export async function describeJob(rc: RengaClient, workflowId: string): Promise<WorkflowExecutionDescription> {
  return rc.client.workflow.getHandle(workflowId).describe();
}

/** Cancelling a job that has already ended: there is nothing to stop (exit 2, not "no such job"). */
export class JobAlreadyFinishedError extends Error {
  override readonly name = 'JobAlreadyFinishedError';
}

/** Stops scheduling subtasks and cancels running ones; finished work stays in the result. */
export async function cancelJob(rc: RengaClient, workflowId: string, req: Partial<CancelRequest> = {}): Promise<void> {
  const handle = rc.client.workflow.getHandle(workflowId);
  const finished = (status: string) =>
    new JobAlreadyFinishedError(`job ${workflowId} already finished (${status.toLowerCase()}); nothing to cancel`);
  // Throws WorkflowNotFoundError when there is no such job at all.
  const before = await handle.describe();
  if (before.status.name !== 'RUNNING') throw finished(before.status.name);
  try {
    await handle.signal(cancelSignal, req);
  } catch (err) {
    // It ended between the two calls: the server answers a signal to a closed run as "not found".
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw finished((await handle.describe()).status.name);
  }
}

export function uiLink(config: ClientConfig, workflowId: string): string {
  return `${config.RENGA_UI_URL.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
}
