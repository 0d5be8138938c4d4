/**
 * After a worker dies (kill -9, OOM, a lost host), the next workflow task of each job it had cached
 * goes to its sticky queue, where nobody polls, and waits out the sticky schedule-to-start timeout
 * before the server hands it to the task queue. A worker that starts releases that stickiness for
 * every running workflow on its task queue (ResetStickyTaskQueue), so that task goes straight to the
 * shared queue. It cannot tell a dead worker's jobs from a live one's: a live worker pays one
 * history replay per job it had cached, once per worker start; a failure here only costs the wait.
 */
import type { NativeConnection } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';

type Execution = temporal.api.common.v1.IWorkflowExecution;

/** Running workflows looked at per start: a bound on the start's cost, not a correctness limit. */
const MAX_LOOKED_AT = 1_000;

/** The running workflows of `taskQueue` (those a dead worker of this queue may have held). */
export async function runningWorkflows(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
): Promise<Execution[]> {
  const { executions } = await connection.workflowService.listWorkflowExecutions({
    namespace,
    pageSize: MAX_LOOKED_AT,
    query: `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running'`,
  });
  return (executions ?? []).flatMap((e) => (e.execution ? [e.execution] : []));
}

export async function releaseStickyWorkflows(
  connection: NativeConnection,
  namespace: string,
  executions: Execution[],
): Promise<void> {
  await Promise.all(
    executions.map((execution) =>
      // A workflow that ended meanwhile answers NotFound: nothing to release.
      connection.workflowService.resetStickyTaskQueue({ namespace, execution }).catch(() => undefined),
    ),
  );
}
