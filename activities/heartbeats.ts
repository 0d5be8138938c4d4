/**
 * When a long activity (a model call, a tool call) heartbeats: only once it has run a while, then at
 * a steady pace, and never from stream events (one per event crossed into the native core every few
 * characters: a large share of the worker's CPU at zero latency).
 *
 * - The first heartbeat comes after FIRST_MS, so calls shorter than that send none at all, and a
 *   call of about a second does not end just as a heartbeat goes out (bench: +7 % of makespan).
 * - Then one every EVERY_MS at most (half the heartbeat timeout when that is shorter); the worker's
 *   maxHeartbeatThrottleInterval (worker/worker.ts) lets the core send each at once, so the server
 *   hears from a live call at least every second: a margin of four seconds against renga's default
 *   5 s timeout (one second if a job sets 2 s for the fastest recovery).
 * Cancellation reaches an activity only in a heartbeat's response, so a call cancelled in its first
 * FIRST_MS learns it on the first heartbeat.
 */
import { activityInfo, heartbeat } from '@temporalio/activity';

const FIRST_MS = 1_200;
const EVERY_MS = 1_000;

/** Starts heartbeating the current activity; returns the function that stops it. */
export function keepAlive(): () => void {
  const timeoutMs = activityInfo().heartbeatTimeoutMs ?? 30_000;
  const first = Math.min(FIRST_MS, Math.floor(timeoutMs * 0.6));
  const every = Math.max(200, Math.min(EVERY_MS, Math.floor(timeoutMs / 2)));
  let timer: NodeJS.Timeout | undefined = setTimeout(function beat() {
    heartbeat();
    timer = setTimeout(beat, every);
  }, first);
  return () => {
    clearTimeout(timer);
    timer = undefined;
  };
}
