/**
 * Reads a jobs file (JSONL: one job input per line, the JobInput schema) and validates every line
 * before anything is created, naming each bad line by number.
 */
import { MAX_BATCH_JOBS, MAX_JOBS_FILE_BYTES } from '../shared/limits';
import { modelProblem } from '../shared/models';
import { JobInputSchema, describeZodError, type JobInputArg } from '../shared/schemas';
import { InvalidJobInputError } from './api';
import { readRegularFile } from './files';

/** Enough to fix a broken file in one go without flooding the terminal. */
const MAX_REPORTED_ERRORS = 20;

export interface JobsFile {
  path: string;
  /** The lines as written (defaults are applied by the workflow, so batch-wide options can fill gaps). */
  jobs: JobInputArg[];
}

/** `extraModels`: RENGA_EXTRA_MODELS; each line's models are checked as `renga run` checks them. */
export function readJobsFile(file: string, extraModels: readonly string[] = []): JobsFile {
  const where = `--jobs ${file}`;
  const buf = readRegularFile(file, where, MAX_JOBS_FILE_BYTES);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new InvalidJobInputError(`${where}: not valid UTF-8 text`);
  }
  return { path: file, jobs: parseJobsJsonl(text, where, extraModels) };
}

export function parseJobsJsonl(text: string, where: string, extraModels: readonly string[] = []): JobInputArg[] {
  const jobs: JobInputArg[] = [];
  const errors: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const n = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      errors.push(`line ${n}: malformed JSON (${(err as Error).message})`);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push(`line ${n}: expected a JSON object with at least "job"`);
      continue;
    }
    const parsed = JobInputSchema.safeParse(value);
    if (!parsed.success) {
      errors.push(`line ${n}: ${describeZodError(parsed.error)}`);
      continue;
    }
    // Models the API does not serve would fail each job later, after the batch started.
    const models = (['plannerModel', 'workerModel'] as const).flatMap((field) => {
      const model = parsed.data[field];
      const problem = model === undefined ? null : modelProblem(model, extraModels);
      return problem ? [`line ${n}: ${field}: ${problem}`] : [];
    });
    if (models.length > 0) {
      errors.push(...models);
      continue;
    }
    jobs.push(value as JobInputArg);
  }
  if (errors.length === 1) throw new InvalidJobInputError(`${where}: ${errors[0]}`);
  if (errors.length > 0) {
    const shown = errors.slice(0, MAX_REPORTED_ERRORS);
    const more = errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more` : '';
    throw new InvalidJobInputError(
      `${where}: ${errors.length} bad line${errors.length > 1 ? 's' : ''}:\n  ${shown.join('\n  ')}${more}`,
    );
  }
  if (jobs.length === 0) throw new InvalidJobInputError(`${where}: no jobs (expected one JSON job input per line)`);
  if (jobs.length > MAX_BATCH_JOBS)
    throw new InvalidJobInputError(`${where}: ${jobs.length} jobs, more than the ${MAX_BATCH_JOBS} allowed per batch`);
  return jobs;
}
