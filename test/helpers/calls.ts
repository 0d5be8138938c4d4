/**
 * A test's own model calls. renga's activities name their workflow, activity and attempt in request
 * headers (activities/attribution.ts) and the simulator records them in each log entry, so a test
 * reads exactly the calls of the jobs it started, never "everything since the test began": a call
 * another test's job aborted can land in the log at any moment.
 */
import type { MessageBatchRecord, RequestLogEntry, Simulator } from '../../simulator/types';
import { waitUntil } from './wait';

export interface CallFilter {
  /**
   * Also the calls of workflows whose id starts with `id` (a batch's jobs are `<batch id>-j<line>`).
   * Without it: the workflow itself, its shards (`<id>/shard-<n>`) and its sub-agents (`<id>--<subtask>`).
   */
  prefix?: boolean;
}

/** Whether a call made by workflow `workflowId` belongs to the job (or batch) `id`. */
export function belongsTo(workflowId: string | null, id: string, f: CallFilter = {}): boolean {
  if (workflowId === null) return false;
  if (f.prefix) return workflowId.startsWith(id);
  return workflowId === id || workflowId.startsWith(`${id}/`) || workflowId.startsWith(`${id}--`);
}

/** Resolves once none of the job's calls is still being answered (an aborted call has its final entry). */
export async function settled(sim: Simulator, id: string, f: CallFilter = {}): Promise<void> {
  await waitUntil(() => !sim.inFlight().some((a) => belongsTo(a.workflowId, id, f)), `no call of ${id} is in flight`);
}

/** The job's calls in the simulator's request log (in the order their entries were recorded), once settled. */
export async function callsOf(sim: Simulator, id: string, f: CallFilter = {}): Promise<RequestLogEntry[]> {
  await settled(sim, id, f);
  return sim.log.filter((e) => belongsTo(e.workflowId, id, f));
}

/** The job's calls that were answered in full. */
export async function okCallsOf(sim: Simulator, id: string, f: CallFilter = {}): Promise<RequestLogEntry[]> {
  return (await callsOf(sim, id, f)).filter((e) => e.outcome === 'ok');
}

/** Message batches the job created. */
export function batchesOf(sim: Simulator, id: string, f: CallFilter = {}): MessageBatchRecord[] {
  return sim.batches.filter((b) => belongsTo(b.workflowId, id, f));
}
