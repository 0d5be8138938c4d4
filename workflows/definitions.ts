/** Queries, signals and updates of jobWorkflow, shared by the workflow and its clients. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Plan, Progress, ResultDocument } from '../shared/schemas';

export interface CancelRequest {
  /** Combine what finished into an answer before returning. */
  synthesize: boolean;
  reason: string | null;
}

export interface RejectRequest {
  reason: string;
}

export const progressQuery = defineQuery<Progress>('progress');
export const planQuery = defineQuery<Plan | null>('plan');
/**
 * The result document as the workflow holds it. Answers on a closed run too (a worker replays
 * it), so a run that ended without returning its document (terminated, timed out, or cancelled
 * by an older version) still shows its finished subtasks.
 */
export const resultQuery = defineQuery<ResultDocument>('result');
export const cancelSignal = defineSignal<[Partial<CancelRequest>?]>('cancel');
/** Updates, not signals: the caller learns at once whether the job was actually waiting for a decision. */
export const approvePlanUpdate = defineUpdate<string, []>('approvePlan');
export const rejectPlanUpdate = defineUpdate<string, [RejectRequest]>('rejectPlan');
