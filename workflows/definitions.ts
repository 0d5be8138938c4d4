/** Queries and signals of jobWorkflow, shared by the workflow and its clients. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Plan, Progress } from '../shared/schemas';

export interface CancelRequest {
  /** Combine what finished into an answer before returning. */
  synthesize: boolean;
  reason: string | null;
}

export const progressQuery = defineQuery<Progress>('progress');
export const planQuery = defineQuery<Plan | null>('plan');
export const cancelSignal = defineSignal<[Partial<CancelRequest>?]>('cancel');
