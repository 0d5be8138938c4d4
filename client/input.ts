/** Turns CLI arguments and files into a validated job input; every problem names its source. */
import path from 'node:path';
import { MAX_CONTEXT_CHARS } from '../shared/limits';
import type { ContextFile, JobInput, JobInputArg } from '../shared/schemas';
import { InvalidJobInputError, validateJobInput } from './api';
import { readRegularFile } from './files';

export interface JobFlags {
  file?: string;
  context?: string[];
  maxSubtasks?: number;
  concurrency?: number;
  plannerModel?: string;
  workerModel?: string;
  approvePlan?: boolean;
  budgetUsd?: number;
  route?: 'auto' | 'off';
  /** A JSON Schema file every subtask answer must match. */
  outputSchema?: string;
  plannerThinking?: number;
  workerThinking?: number;
  /** `--tools NAME|PREFIX…` and `--max-turns N`: sub-agents with tools. */
  tools?: string[];
  maxTurns?: number;
}

function readText(file: string, flag: string): string {
  const buf = readRegularFile(file, `${flag} ${file}`, MAX_CONTEXT_CHARS * 4);
  if (buf.includes(0))
    throw new InvalidJobInputError(`${flag} ${file}: binary file (contains NUL bytes); give a text file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new InvalidJobInputError(`${flag} ${file}: not valid UTF-8 text`);
  }
}

function readSchema(file: string): Record<string, unknown> {
  const text = readText(file, '--output-schema');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidJobInputError(`--output-schema ${file}: malformed JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidJobInputError(`--output-schema ${file}: expected a JSON Schema object`);
  return value as Record<string, unknown>;
}

/**
 * The job comes from the argument, or from --file: a text file holds the job text, a .json file
 * holds a whole job input (the workflow's schema), so scripts can pass every option at once.
 */
export function buildJobInput(jobArg: string | undefined, flags: JobFlags): JobInput {
  let base: JobInputArg;
  if (flags.file && jobArg)
    throw new InvalidJobInputError('give the job either as an argument or with --file, not both');
  if (flags.file) {
    const text = readText(flags.file, '--file');
    if (flags.file.endsWith('.json')) {
      try {
        base = JSON.parse(text) as JobInputArg;
      } catch (err) {
        throw new InvalidJobInputError(`--file ${flags.file}: malformed JSON (${(err as Error).message})`, {
          cause: err,
        });
      }
      if (typeof base !== 'object' || base === null || Array.isArray(base)) {
        throw new InvalidJobInputError(`--file ${flags.file}: expected a JSON object with at least "job"`);
      }
    } else {
      base = { job: text };
    }
  } else if (jobArg !== undefined) {
    base = { job: jobArg };
  } else {
    throw new InvalidJobInputError('no job given: pass the job text as an argument or use --file');
  }

  const context: ContextFile[] = [...(base.context ?? [])];
  for (const f of flags.context ?? []) context.push({ name: path.basename(f), content: readText(f, '--context') });

  const merged: JobInputArg = {
    ...base,
    context,
    ...(flags.maxSubtasks !== undefined ? { maxSubtasks: flags.maxSubtasks } : {}),
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    // `--planner-model ""` is passed on, so the schema refuses it rather than silently ignoring it.
    ...(flags.plannerModel !== undefined ? { plannerModel: flags.plannerModel } : {}),
    ...(flags.workerModel !== undefined ? { workerModel: flags.workerModel } : {}),
    ...(flags.approvePlan ? { approvePlan: true } : {}),
    ...(flags.budgetUsd !== undefined ? { budgetUsd: flags.budgetUsd } : {}),
    ...(flags.route ? { route: flags.route } : {}),
    ...(flags.outputSchema ? { subtaskOutputSchema: readSchema(flags.outputSchema) } : {}),
    ...(flags.plannerThinking !== undefined ? { plannerThinkingTokens: flags.plannerThinking } : {}),
    ...(flags.workerThinking !== undefined ? { workerThinkingTokens: flags.workerThinking } : {}),
    ...(flags.tools?.length ? { tools: flags.tools } : {}),
    ...(flags.maxTurns !== undefined ? { maxTurns: flags.maxTurns } : {}),
  };
  try {
    return validateJobInput(merged);
  } catch (err) {
    if (err instanceof InvalidJobInputError && flags.file)
      throw new InvalidJobInputError(`--file ${flags.file}: ${err.message}`, { cause: err });
    throw err;
  }
}
