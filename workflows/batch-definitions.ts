/** Queries of batchWorkflow, shared by the workflow and its clients. */
import { defineQuery } from '@temporalio/workflow';
import type { BatchProgress } from '../shared/batch';

export const batchProgressQuery = defineQuery<BatchProgress>('batchProgress');
