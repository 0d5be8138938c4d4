/**
 * "Waiting on the rate limit": what the task queue's shared limiter (workflows/rate-limiter.ts) says
 * about one job, for `renga status` and `renga watch`. Null when nothing of the job waits, or when
 * no limiter runs (a job never waits on one that does not exist).
 */
import type { Client } from '@temporalio/client';
import {
  limiterStateQuery,
  rateLimiterWorkflowId,
  type LimiterFamilyState,
  type LimiterState,
} from '../workflows/rate-limiter-definitions';

export interface RateLimitWait {
  /** Model calls of this job waiting for admission. */
  waiting: number;
  /** The limiter's view of the families that have calls waiting. */
  families: Record<string, LimiterFamilyState>;
}

/** `rc` is a RengaClient (client/api.ts), typed structurally so api.ts can use this without an import cycle. */
export async function getRateLimitWait(
  rc: { client: Client; config: { RENGA_TASK_QUEUE: string } },
  workflowId: string,
): Promise<RateLimitWait | null> {
  let state: LimiterState;
  try {
    state = await rc.client.workflow
      .getHandle(rateLimiterWorkflowId(rc.config.RENGA_TASK_QUEUE))
      .query(limiterStateQuery);
  } catch {
    return null;
  }
  const waiting = state.waitingByJob[workflowId] ?? 0;
  if (waiting === 0) return null;
  const families = Object.fromEntries(Object.entries(state.families).filter(([, f]) => f.waiting > 0));
  return { waiting, families };
}

export function describeRateLimitWait(w: RateLimitWait): string {
  const parts = Object.entries(w.families).map(([family, f]) => {
    const rpm = f.limits.requests;
    const left = rpm === null ? 'limits being learned' : `${f.remaining.requests ?? 0} of ${rpm} requests/min left`;
    const paused = f.pausedForMs > 0 ? `, paused ${Math.ceil(f.pausedForMs / 1000)} s after a 429` : '';
    return `${family}: ${left}${paused}`;
  });
  return `waiting on the rate limit: ${w.waiting} call${w.waiting === 1 ? '' : 's'} (${parts.join('; ')})`;
}
