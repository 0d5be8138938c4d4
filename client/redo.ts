/**
 * `renga redo`: a new job that takes a finished job's plan and outputs as they are and pays only for
 * what runs again (named subtasks, then the synthesis; or the synthesis alone). The original's
 * input comes from its start event, its outputs from its result document; the workflow side is
 * workflows/redo.ts. Every check happens here, before anything starts (exit 2 otherwise).
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { randomUUID } from 'node:crypto';
import { modelProblem } from '../shared/models';
import { JobInputSchema, type JobInput, type RedoSpec } from '../shared/schemas';
import { MAX_WORKFLOW_ID_CHARS } from '../shared/workflow-id';
import { InvalidJobInputError, describeJob, getResult, startJob, type RengaClient } from './api';

export interface RedoRequest {
  /** Subtask ids to run again; empty: only the synthesis runs again. */
  subtasks: string[];
  /** The model for what is redone (the named subtasks, or the synthesis). */
  model?: string;
  workflowId?: string;
}

/** Starts the redo job of `originalId`; returns its workflow id. Throws InvalidJobInputError (exit 2) on bad input. */
export async function redoJob(rc: RengaClient, originalId: string, req: RedoRequest): Promise<string> {
  const problem = req.model === undefined ? null : modelProblem(req.model, rc.config.RENGA_EXTRA_MODELS);
  if (problem) throw new InvalidJobInputError(`--model: ${problem}`);
  const description = await describeJob(rc, originalId).catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError) throw new InvalidJobInputError(`no such job: ${originalId}`);
    throw err;
  });
  if (description.type !== 'jobWorkflow') {
    throw new InvalidJobInputError(`${originalId} is a ${description.type}, not a job; redo takes a job's id`);
  }
  if (description.status.name === 'RUNNING') {
    throw new InvalidJobInputError(`job ${originalId} is still running; redo a job once it has ended`);
  }
  const doc = await getResult(rc, originalId);
  if (!doc.plan) {
    const why = doc.shards
      ? 'a sharded job keeps its outputs in shards, which redo cannot reuse yet'
      : 'it has no plan';
    throw new InvalidJobInputError(`job ${originalId} cannot be redone: ${why}`);
  }
  const known = doc.plan.subtasks.map((s) => s.id);
  const unknown = req.subtasks.filter((id) => !known.includes(id));
  if (unknown.length) {
    throw new InvalidJobInputError(
      `job ${originalId} has no subtask ${unknown.join(', ')} (its subtasks: ${abbreviate(known)})`,
    );
  }
  const original = await originalInput(rc, originalId);
  const redone = new Set(req.subtasks);
  const redo: RedoSpec = {
    of: originalId,
    plan: doc.plan,
    reuse: doc.subtasks.filter((s) => !redone.has(s.id)),
    subtasks: [...redone],
    ...(req.model ? { model: req.model } : {}),
  };
  // A redo of a redo starts from what that job ended with; its own redo field is replaced.
  return startJob(rc, { ...original, redo }, { workflowId: req.workflowId ?? redoId(originalId) });
}

/** The original's job input, as its start event recorded it (decoded like any payload: codec, claim check). */
async function originalInput(rc: RengaClient, workflowId: string): Promise<JobInput> {
  const page = await rc.client.workflowService.getWorkflowExecutionHistory({
    namespace: rc.config.TEMPORAL_NAMESPACE,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const started = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  const raw = await decodeFromPayloadsAtIndex<unknown>(
    rc.client.options.loadedDataConverter,
    0,
    started?.input?.payloads,
  );
  const parsed = JobInputSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidJobInputError(`job ${workflowId}: its recorded input cannot be read`);
  return parsed.data;
}

function redoId(originalId: string): string {
  const suffix = `-redo-${randomUUID().slice(0, 8)}`;
  return `${originalId.slice(0, MAX_WORKFLOW_ID_CHARS - suffix.length)}${suffix}`;
}

function abbreviate(ids: string[]): string {
  return ids.length <= 12 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')}, … ${ids.at(-1)}`;
}
