/**
 * Which job a request belongs to, from the `x-renga-*` headers renga's activities send
 * (activities/attribution.ts), and which requests are still being answered. Tests filter the request
 * log by their own workflow id and wait until none of their calls is in flight before asserting, so
 * an aborted call that lands late is always counted with the job that made it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestAttribution } from './types';

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? null : s;
}

export function attributionOf(headers: IncomingHttpHeaders): RequestAttribution {
  const attempt = Number(header(headers, 'x-renga-attempt'));
  return {
    workflowId: header(headers, 'x-renga-workflow-id'),
    activityId: header(headers, 'x-renga-activity-id'),
    activityType: header(headers, 'x-renga-activity-type'),
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : null,
  };
}

/** Requests that have arrived and whose log entry is not final yet. */
export class InFlightRequests {
  private readonly open = new Set<RequestAttribution>();
  /** Requests of each workflow in flight now, and the most at once (a job's concurrency, seen from the API). */
  private readonly now = new Map<string, number>();
  private readonly peaks = new Map<string, number>();

  /** Returns the function that marks the request done; call it after its log entry is recorded. */
  enter(who: RequestAttribution): () => void {
    // One object per request, so two calls of the same activity attempt are counted apart.
    const token = { ...who };
    this.open.add(token);
    const id = who.workflowId;
    if (id !== null) {
      const n = (this.now.get(id) ?? 0) + 1;
      this.now.set(id, n);
      if (n > (this.peaks.get(id) ?? 0)) this.peaks.set(id, n);
    }
    return () => {
      if (!this.open.delete(token) || id === null) return;
      const n = (this.now.get(id) ?? 1) - 1;
      if (n > 0) this.now.set(id, n);
      else this.now.delete(id);
    };
  }

  peak(workflowId: string): number {
    return this.peaks.get(workflowId) ?? 0;
  }

  list(): RequestAttribution[] {
    return [...this.open].map((a) => ({ ...a }));
  }
}
