/**
 * Request headers that say which workflow, activity and attempt a model call belongs to. The local
 * simulator records them in its request log, so a test reads exactly its own job's calls (an aborted
 * call of another job that lands late cannot be mistaken for one of them); the real API ignores them.
 * Workflow ids are plaintext on the Temporal server too, and carry no words of the job with
 * encryption on (client/api.ts), so these headers reveal nothing the prompt does not.
 */
import { activityInfo } from '@temporalio/activity';

export const ATTRIBUTION_HEADERS = {
  workflowId: 'x-renga-workflow-id',
  activityId: 'x-renga-activity-id',
  activityType: 'x-renga-activity-type',
  attempt: 'x-renga-attempt',
} as const;

/** For the activity running now; call only inside an activity. */
export function attributionHeaders(): Record<string, string> {
  const info = activityInfo();
  return {
    [ATTRIBUTION_HEADERS.workflowId]: info.workflowExecution?.workflowId ?? '',
    [ATTRIBUTION_HEADERS.activityId]: info.activityId,
    [ATTRIBUTION_HEADERS.activityType]: info.activityType,
    [ATTRIBUTION_HEADERS.attempt]: String(info.attempt),
  };
}
