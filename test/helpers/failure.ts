/** The failure a workflow ended with, for tests that expect a run to fail. */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';

/**
 * Waits for the run's result and returns the ApplicationFailure it failed with; throws (failing the
 * test with what happened instead) when the run completed or failed some other way.
 */
export async function workflowFailure(handle: { result(): Promise<unknown> }): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    (value) => {
      throw new Error(`the workflow completed instead of failing: ${JSON.stringify(value)?.slice(0, 200)}`);
    },
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowFailedError)) throw err;
  if (!(err.cause instanceof ApplicationFailure))
    throw new Error('the workflow failed without an ApplicationFailure', { cause: err });
  return err.cause;
}
