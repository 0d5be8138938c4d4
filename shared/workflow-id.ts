/**
 * What a job's workflow id may be. Ids appear in URLs, shell commands, file names of exported
 * histories and visibility queries, so: 1–200 of letters, digits and `. _ - : @ + =`, not starting
 * with `-` (it would read as an option). Checked by the TS API before a start and by jobWorkflow
 * itself, so a job started any other way with a bad id fails at once.
 *
 * Plain checks, not zod: workflow code calls this, and every workflow run evaluates the modules it
 * imports afresh (docs/architecture.md), so zod would cost every run of every workflow type.
 */
export const MAX_WORKFLOW_ID_CHARS = 200;

const ID_CHARS = /^[A-Za-z0-9._:@+=-]+$/;

/** Why `id` is not a valid workflow id (the first problem found), or null. */
export function workflowIdProblem(id: string): string | null {
  if (id.length === 0) return 'the workflow id is empty';
  if (id.length > MAX_WORKFLOW_ID_CHARS) return `the workflow id is longer than ${MAX_WORKFLOW_ID_CHARS} characters`;
  if (id.startsWith('-')) return "the workflow id starts with '-'";
  if (!ID_CHARS.test(id)) {
    return "the workflow id may hold only letters, digits and '. _ - : @ + =' (no spaces, '/', control characters)";
  }
  return null;
}
