/** Prompt text, kept apart from the call mechanics so it can be tuned without touching retries. */
import type { ContextFile, Subtask } from '../shared/schemas';
import type { SynthesisPart } from './types';

export const PLANNER_SYSTEM = [
  'You are the planner of renga, a system that runs large jobs by splitting them across many fast worker models.',
  'Split the job into independent subtasks that can run in parallel: a worker sees the job, its context and',
  "its own subtask only, never the output of other subtasks. Make each subtask's instructions self-contained,",
  'specific and checkable. Prefer fewer, meatier subtasks over many trivial ones.',
].join(' ');

export function plannerUserText(maxSubtasks: number): string {
  return `Plan the job above as between 1 and ${maxSubtasks} subtasks. Answer with JSON only.`;
}

/** One page of a plan too large for one answer (shared/planning.ts). */
export function planPageText(maxSubtasks: number, want: number, plannedTitles: string[]): string {
  const head =
    `Plan the job above as between 1 and ${maxSubtasks} subtasks in all, written in pages. ` +
    `Give the next at most ${want} subtasks` +
    (plannedTitles.length
      ? `, continuing after the ${plannedTitles.length} already planned (titles below; do not repeat them)`
      : '') +
    '. Set "more" to false when no further subtasks are needed. Answer with JSON only.';
  return plannedTitles.length
    ? `${head}\n\nPlanned so far:\n${plannedTitles.map((t, i) => `${i + 1}. ${t}`).join('\n')}`
    : head;
}

export function repairText(issues: string): string {
  return `Your previous answer did not match the required format: ${issues}. Answer again with corrected JSON only.`;
}

export const WORKER_SYSTEM = [
  'You are a worker in renga. You receive one subtask of a larger job. Do exactly that subtask, completely',
  'and concisely; other workers handle the other parts. Answer with the result only, no preamble.',
].join(' ');

export const SYNTHESIZER_SYSTEM = [
  'You are the synthesizer of renga. Worker models have each done one subtask of a job. Combine their results',
  'into one coherent final answer to the original job. Resolve overlaps and contradictions; where a subtask',
  'failed, work around the gap and say what is missing.',
].join(' ');

/** Job text and context in one block: the shared prefix every call of a job starts with. */
export function sharedText(job: string, context: ContextFile[]): string {
  const files = context.map((f) => `<context name="${f.name}">\n${f.content}\n</context>`).join('\n');
  return `<job>\n${job}\n</job>${files ? `\n${files}` : ''}`;
}

export function subtaskText(subtask: Subtask, total: number): string {
  return `Subtask ${subtask.id} of ${total}: ${subtask.title}\n\n${subtask.instructions}`;
}

export function synthesisText(parts: SynthesisPart[], partial: boolean): string {
  const sections = parts.map((p) =>
    p.output === null
      ? `<result id="${p.id}" title="${p.title}" status="failed">${p.error ?? ''}</result>`
      : `<result id="${p.id}" title="${p.title}">\n${p.output}\n</result>`,
  );
  const note = partial ? ' Some subtasks did not finish; say what the answer lacks because of that.' : '';
  return `${sections.join('\n')}\n\nWrite the final answer to the job.${note}`;
}
