/**
 * The typed TS API the CLI is built on: start a job, follow it, fetch its result document.
 * Input is validated here with the same schema the workflow uses, so bad input never starts a run.
 */
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { Client, Connection, WorkflowFailedError, type WorkflowExecutionDescription } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { createCodecs } from '../shared/codec';
import { loadClientConfig, type ClientConfig } from '../shared/config';
import {
  JobInputSchema,
  ResultDocumentSchema,
  describeZodError,
  type JobInput,
  type JobInputArg,
  type Progress,
  type ResultDocument,
} from '../shared/schemas';
import { cancelSignal, progressQuery, type CancelRequest } from '../workflows/definitions';
import type { jobWorkflow } from '../workflows';

export class InvalidJobInputError extends Error {
  override readonly name = 'InvalidJobInputError';
}
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

export interface RengaClient {
  client: Client;
  config: ClientConfig;
  close(): Promise<void>;
}

export async function connect(config: ClientConfig = loadClientConfig()): Promise<RengaClient> {
  // Before the network: a bad key configuration is a usage error (exit 2), not an unreachable server.
  const payloadCodecs = createCodecs(config).chain;
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, connectTimeout: '5s' });
  } catch (err) {
    throw new TemporalUnreachableError(
      `cannot reach Temporal at ${config.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS): ${(err as Error).message}`,
    );
  }
  // Same codecs as the worker: inputs leave this process encrypted/offloaded, results come back readable.
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: { payloadCodecs },
  });
  return { client, config, close: () => connection.close() };
}

export function validateJobInput(input: JobInputArg): JobInput {
  const parsed = JobInputSchema.safeParse(input);
  if (!parsed.success) throw new InvalidJobInputError(describeZodError(parsed.error));
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

export async function startJob(rc: RengaClient, input: JobInputArg, opts: { workflowId?: string } = {}): Promise<string> {
  const valid = validateJobInput(input);
  // Workflow ids are plaintext on the server: with encryption on they must not carry words of the job.
  const encrypted = Boolean(rc.config.RENGA_ENCRYPTION_KEYS || rc.config.RENGA_ENCRYPTION_KEYS_FILE);
  const workflowId = opts.workflowId ?? newWorkflowId(encrypted ? '' : valid.job);
  await rc.client.workflow.start<typeof jobWorkflow>('jobWorkflow', {
    args: [valid],
    taskQueue: rc.config.RENGA_TASK_QUEUE,
    workflowId,
  });
  return workflowId;
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
      cause instanceof TerminatedFailure ? 'terminated' : cause instanceof TimeoutFailure ? 'timed out' : (cause?.message ?? err.message);
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

export async function getProgress(rc: RengaClient, workflowId: string): Promise<Progress> {
  return rc.client.workflow.getHandle(workflowId).query(progressQuery);
}

export async function describeJob(rc: RengaClient, workflowId: string): Promise<WorkflowExecutionDescription> {
  return rc.client.workflow.getHandle(workflowId).describe();
}

/** Stops scheduling subtasks and cancels running ones; finished work stays in the result. */
export async function cancelJob(rc: RengaClient, workflowId: string, req: Partial<CancelRequest> = {}): Promise<void> {
  await rc.client.workflow.getHandle(workflowId).signal(cancelSignal, req);
}

export function uiLink(config: ClientConfig, workflowId: string): string {
  return `${config.RENGA_UI_URL.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
}
