/** Prompt text, kept apart from the call mechanics so it can be tuned without touching retries. */
import type { ContextFile } from '../shared/schemas';
import type { SubtaskForCall, SynthesisPart } from './types';

/**
 * One system prompt for every role: the cached prefix is system + shared context, so the planner's
 * cache write is the synthesizer's (and an escalated subtask's) cache read. Role instructions
 * follow the shared block, in each call's own text.
 */
export const SYSTEM = [
  'You are part of renga, a system that runs large jobs by splitting them into subtasks for several models.',
  'The job and its context come first; your part of the work and your role follow them.',
].join(' ');

export const PLANNER_SYSTEM = [
  'You are the planner of renga, a system that runs large jobs by splitting them across many fast worker models.',
  'Split the job into independent subtasks that can run in parallel: a worker sees the job, its context and',
  "its own subtask only, never the output of other subtasks. Make each subtask's instructions self-contained,",
  'specific and checkable. Prefer fewer, meatier subtasks over many trivial ones.',
  ROUTING_GUIDANCE(),
].join(' ');

function ROUTING_GUIDANCE(): string {
  return [
    'For each subtask name its kind of work and the model tier it needs, with a one-line reason.',
    "Tier 'fast' runs on a small, cheap model (Haiku): good for drafting, rewriting, summarising given text,",
    'classifying, extracting from the given context and simple transformations.',
    "Tier 'strong' runs on the planner's own model (Sonnet): use it where accuracy matters, because the small model",
    'hallucinates more on fact lookups (names, numbers, dates, citations not in the context) and on code',
    'references (APIs, signatures, file paths), and for multi-step reasoning. Choose fast unless there is such a reason.',
  ].join(' ');
}

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

export function subtaskText(subtask: SubtaskForCall, total: number): string {
  return `Subtask ${subtask.id} of ${total}: ${subtask.title}\n\n${subtask.instructions}`;
}

/** A role's instructions, the block after the call's own text in every request (activities/layout.ts). */
export function roleText(role: string): string {
  return `<role>\n${role}\n</role>`;
}

/** A subtask's repair turn names the subtask again, so the turn (and its log entry) says what it is about. */
export function subtaskRepairText(subtask: SubtaskForCall, total: number, issues: string): string {
  return `Subtask ${subtask.id} of ${total}: ${subtask.title}\n\n${repairText(issues)}`;
}

export function outputSchemaText(schema: Record<string, unknown>): string {
  return `Answer with JSON only, matching this JSON Schema:\n${JSON.stringify(schema)}`;
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
