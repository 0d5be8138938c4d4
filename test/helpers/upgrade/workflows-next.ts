/**
 * A test-only "next release" of the workflow code: jobWorkflow gains a first step (a memo naming
 * the build). Replaying a history recorded by the current code on this one would fail with a
 * nondeterminism error, which is what Worker Versioning must keep from happening.
 */
import { upsertMemo } from '@temporalio/workflow';
import { jobWorkflow as currentJobWorkflow } from '../../../workflows';

export * from '../../../workflows';

export async function jobWorkflow(
  ...args: Parameters<typeof currentJobWorkflow>
): ReturnType<typeof currentJobWorkflow> {
  upsertMemo({ rengaBuild: 'next' });
  return currentJobWorkflow(...args);
}
