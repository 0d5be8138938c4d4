/**
 * After a worker dies (kill -9, OOM, a lost host), the next workflow task of each job it had cached
 * goes to its sticky queue, where nobody polls, and waits out the sticky schedule-to-start timeout
 * before the server hands it to the task queue. A worker that starts releases that stickiness for
 * every running workflow on its task queue (ResetStickyTaskQueue), so that task goes straight to the
 * shared queue. It cannot tell a dead worker's jobs from a live one's: a live worker pays one
 * history replay per job it had cached, once per worker start; a failure here only costs the wait.
 */
import type { NativeConnection } from '@temporalio/worker';

/** Running workflows looked at per start: a bound on the start's cost, not a correctness limit. */
const MAX_RELEASED = 1_000;

export async function releaseStickyWorkflows(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
): Promise<number> {
  const svc = connection.workflowService;
  const { executions } = await svc.listWorkflowExecutions({
    namespace,
    pageSize: MAX_RELEASED,
    query: `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running'`,
  });
  const running = executions ?? [];
  await Promise.all(
    running.map((e) =>
      // A workflow that ended meanwhile answers NotFound: nothing to release.
      svc.resetStickyTaskQueue({ namespace, execution: e.execution }).catch(() => undefined),
    ),
  );
  return running.length;
}
