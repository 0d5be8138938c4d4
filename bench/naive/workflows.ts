/**
 * The naive baseline's workflow, as in temporalio/samples-typescript: plan, then every subtask as
 * its own activity through `Promise.all` with a simple concurrency limiter, then synthesize.
 * Default-ish activity options (a start-to-close timeout, the default retry policy, no heartbeats).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { NaiveActivities } from './activities';

const { plan, subtask, synthesize } = proxyActivities<NaiveActivities>({ startToCloseTimeout: '1 minute' });

export interface NaiveJobInput {
  job: string;
  maxSubtasks: number;
  concurrency: number;
}

export async function naiveJob(input: NaiveJobInput): Promise<{ subtasks: number; answer: string }> {
  const { shared, subtasks } = await plan({ job: input.job, maxSubtasks: input.maxSubtasks });
  const outputs: string[] = new Array<string>(subtasks.length);
  let next = 0;
  const worker = async () => {
    while (next < subtasks.length) {
      const i = next++;
      outputs[i] = await subtask({ shared, subtask: subtasks[i]!, total: subtasks.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, subtasks.length) }, worker));
  const answer = await synthesize({
    shared,
    parts: subtasks.map((s, i) => ({ id: s.id, title: s.title, output: outputs[i]! })),
  });
  return { subtasks: subtasks.length, answer };
}
