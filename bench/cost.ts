/** Section 5, cost: what the same job costs direct and through Message Batches. */
import type { ResultDocument } from '../shared/schemas';
import { PLANNER } from './profiles';
import { type Ctx, newQueue, spawnWorker, stopWorkers, runJob, setLatency } from './context';

export interface CostResult {
  subtasks: number;
  mixed: ResultDocument['usage'];
  allSonnet: ResultDocument['usage'];
}

export async function cost(ctx: Ctx): Promise<CostResult> {
  setLatency(ctx, 0, 0);
  const q = newQueue('cost');
  const w = await spawnWorker(ctx, q, 100);
  const job = 'Review the reference architecture of a payments service, one concern per subtask';
  const mixed = await runJob(ctx, q, { job, maxSubtasks: 20, concurrency: 8 });
  const sonnet = await runJob(ctx, q, { job, maxSubtasks: 20, concurrency: 8, workerModel: PLANNER });
  await stopWorkers([w]);
  return { subtasks: 20, mixed: mixed.doc.usage, allSonnet: sonnet.doc.usage };
}
