/**
 * A worker killed with SIGKILL leaves its model calls "started" on the server, which retries them
 * only when their heartbeat timeout (5 s by default) runs out. The usual replacement is a new process
 * on the same machine (systemd, a supervisor, a shell loop): it can prove the old one is gone
 * (worker/identity.ts) and fail those calls at once, so Temporal retries them now, not in seconds.
 *
 * What it does not do: it cannot see a process on another host or in another container, so those
 * calls still wait for their heartbeat timeout. The server offers no way to fail one attempt only
 * (RespondActivityTaskFailedById fails the current one), so two replacements starting in the same
 * millisecond could fail a retry one of them has just taken: that call is paid twice, nothing is lost.
 */
import type { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { formatIdentity, isProvablyGone, type WorkerIdentity } from './identity';

type Execution = temporal.api.common.v1.IWorkflowExecution;

/** The failure type a reclaimed attempt ends with (visible as the retry's last failure in the UI). */
export const WORKER_GONE = 'WorkerGone';

const { PENDING_ACTIVITY_STATE_STARTED: STARTED, PENDING_ACTIVITY_STATE_CANCEL_REQUESTED: CANCEL_REQUESTED } =
  temporal.api.enums.v1.PendingActivityState;

/** Fails the attempts that provably-gone workers held in `executions`; returns how many. */
export async function reclaimFromGoneWorkers(
  connection: NativeConnection,
  namespace: string,
  executions: Execution[],
  self: WorkerIdentity,
): Promise<number> {
  const svc = connection.workflowService;
  const counts = await Promise.all(
    executions.map(async (execution) => {
      // A workflow that ended meanwhile answers NotFound: nothing to reclaim.
      const described = await svc.describeWorkflowExecution({ namespace, execution }).catch(() => null);
      const held = (described?.pendingActivities ?? []).filter(
        (a) =>
          (a.state === STARTED || a.state === CANCEL_REQUESTED) &&
          !!a.lastWorkerIdentity &&
          isProvablyGone(a.lastWorkerIdentity, self),
      );
      const failed = await Promise.all(
        held.map((a) =>
          svc
            .respondActivityTaskFailedById({
              namespace,
              workflowId: execution.workflowId,
              runId: execution.runId,
              activityId: a.activityId,
              identity: formatIdentity(self),
              failure: {
                message: `worker ${a.lastWorkerIdentity} is gone (its process has ended); retrying the call now`,
                source: 'renga',
                // Retried at once: the retry policy's first backoff (1 s) is for failures that may recur.
                applicationFailureInfo: { type: WORKER_GONE, nextRetryDelay: msToTs(1) },
              },
            })
            // Completed, timed out or reclaimed by another replacement meanwhile: nothing to do.
            .then(
              () => 1,
              () => 0,
            ),
        ),
      );
      return failed.reduce((a: number, b) => a + b, 0);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
