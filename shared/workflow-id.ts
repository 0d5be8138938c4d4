/**
 * What a job's workflow id may be. Ids appear in URLs, shell commands, file names of exported
 * histories and visibility queries, so: 1–200 of letters, digits and `. _ - : @ + =`, not starting
 * with `-` (it would read as an option). Checked by the TS API before a start and by jobWorkflow
 * itself, so a job started any other way with a bad id fails at once.
 */
import { z } from 'zod';

export const MAX_WORKFLOW_ID_CHARS = 200;

export const WorkflowIdSchema = z
  .string()
  .min(1, 'the workflow id is empty')
  .max(MAX_WORKFLOW_ID_CHARS, `the workflow id is longer than ${MAX_WORKFLOW_ID_CHARS} characters`)
  .refine((id) => !id.startsWith('-'), "the workflow id starts with '-'")
  .refine(
    (id) => /^[A-Za-z0-9._:@+=-]+$/.test(id),
    "the workflow id may hold only letters, digits and '. _ - : @ + =' (no spaces, '/', control characters)",
  );

/** Why `id` is not a valid workflow id, or null. */
export function workflowIdProblem(id: string): string | null {
  const r = WorkflowIdSchema.safeParse(id);
  return r.success ? null : (r.error.issues[0]?.message ?? 'invalid workflow id');
}
