/** run · start · status · result · cancel */
import { InvalidArgumentError, type Command } from 'commander';
import type { ResultDocument } from '../../shared/schemas';
import { cancelJob, describeJob, getProgress, getResult, startJob, uiLink } from '../api';
import { EXIT, collect, positiveInt, withClient, type CommandContext } from '../cli-kit';
import { formatProgress, formatResult } from '../format';
import { describeRateLimitWait, getRateLimitWait } from '../rate-limit-status';
import { buildJobInput, type JobFlags } from '../input';
import { formatTranscript, loadTranscript } from '../transcript';
import { formatOutputs, openBlobStore, withFullOutputs } from '../outputs';

interface JobCommandOpts extends JobFlags {
  approvePlan?: boolean;
  id?: string;
  json?: boolean;
}

function jobOptions(cmd: Command): Command {
  return cmd
    .argument('[job]', 'the job text')
    .option('--file <F>', 'read the job from a text file, or a whole job input from a .json file')
    .option('--context <F>', 'a context file for the job (repeatable)', collect)
    .option('--max-subtasks <N>', 'most subtasks the planner may create', positiveInt('--max-subtasks'))
    .option('--concurrency <N>', 'subtasks running at once', positiveInt('--concurrency'))
    .option('--planner-model <id>', 'model for planning and synthesis (default RENGA_PLANNER_MODEL)')
    .option('--worker-model <id>', 'model for subtasks (default RENGA_WORKER_MODEL)')
    .option('--id <ID>', 'workflow id (default: derived from the job)')
    .option('--approve-plan', 'wait after planning for `renga approve <id>` (or reject) before running subtasks')
    .option('--budget-usd <USD>', 'spend ceiling: no model call starts whose worst case would cross it', positiveUsd)
    .option(
      '--route <auto|off>',
      'auto: strong subtasks on the planner model, fast ones on the worker model; off: all on the worker model',
      routeMode,
    )
    .option('--output-schema <F>', 'a JSON Schema file every subtask answer must match')
    .option(
      '--planner-thinking <N>',
      'extended thinking tokens for planning and synthesis',
      positiveInt('--planner-thinking'),
    )
    .option('--worker-thinking <N>', 'extended thinking tokens for subtasks', positiveInt('--worker-thinking'))
    .option(
      '--tools <NAME|PREFIX...>',
      'tools sub-agents may use: names or server prefixes (mcp__fs) from `renga tools`',
      collectTools,
    )
    .option('--max-turns <N>', 'model turns a sub-agent may take (default 10)', positiveInt('--max-turns'));
}

/** `--tools a b` and `--tools a,b --tools c` both work. */
function collectTools(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

function positiveUsd(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n > 0))
    throw new InvalidArgumentError(`--budget-usd takes an amount in USD greater than 0, got '${value}'`);
  return n;
}

function routeMode(value: string): 'auto' | 'off' {
  if (value !== 'auto' && value !== 'off') throw new InvalidArgumentError(`--route takes auto or off, got '${value}'`);
  return value;
}

/** Failure types of the pre-flight (workflows/spend.ts): the job could never have run as given. */
const PREFLIGHT_REFUSALS = ['ContextTooLarge', 'BudgetTooSmall'];

/** Prints a result document (readable or --json); returns the exit code it means. */
export function print(doc: ResultDocument, json: boolean | undefined): number {
  // Tools no worker offers is bad input, found before planning: exit 2 with one line, like other bad input.
  if (doc.error?.startsWith('UnknownTool:')) {
    process.stderr.write(`renga: invalid input: ${doc.error.replace(/^UnknownTool: (planning failed: )?/, '')}\n`);
    return EXIT.usage;
  }
  process.stdout.write(json ? `${JSON.stringify(doc, null, 2)}\n` : `${formatResult(doc)}\n`);
  return doc.status === 'completed' || doc.status === 'partial' ? EXIT.ok : EXIT.jobFailed;
}

export function registerJobCommands(program: Command, ctx: CommandContext): void {
  jobOptions(program.command('run'))
    .description('start a job and wait for it; prints the answer (or the result document with --json)')
    .option('--json', 'print the result document')
    .action(async (job: string | undefined, opts: JobCommandOpts) => {
      const input = buildJobInput(job, opts);
      await withClient(async (rc) => {
        const id = await startJob(rc, input, { workflowId: opts.id });
        if (!opts.json) process.stderr.write(`started ${id}\n  ${uiLink(rc.config, id)}\n`);
        if (input.approvePlan)
          process.stderr.write(
            `the plan waits for approval: renga approve ${id}  (or: renga reject ${id} --reason …)\n`,
          );
        const doc = await getResult(rc, id);
        // Refused by the pre-flight before anything was paid: bad input, like any other (exit 2).
        if (doc.status === 'failed' && PREFLIGHT_REFUSALS.some((t) => doc.error?.startsWith(`${t}:`))) {
          process.stderr.write(`renga: invalid input: ${doc.error}\n`);
          if (opts.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
          ctx.setExit(EXIT.usage);
          return;
        }
        ctx.setExit(print(doc, opts.json));
      });
    });

  jobOptions(program.command('start'))
    .description('start a job and print its workflow id')
    .action(async (job: string | undefined, opts: JobCommandOpts) => {
      const input = buildJobInput(job, opts);
      await withClient(async (rc) => {
        const id = await startJob(rc, input, { workflowId: opts.id });
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('status <id>')
    .description('show the progress of a job')
    .option('--json', 'print the progress document')
    .action(async (id: string, opts: { json?: boolean }) =>
      withClient(async (rc) => {
        const d = await describeJob(rc, id);
        const progress = await getProgress(rc, id).catch(() => null);
        const rateLimit = d.status.name === 'RUNNING' ? await getRateLimitWait(rc, id) : null;
        const waitLine = rateLimit ? `\n${describeRateLimitWait(rateLimit)}` : '';
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ workflowId: id, status: d.status.name, progress, rateLimit }, null, 2)}\n`
            : `${formatProgress(id, d.status.name, progress)}${waitLine}\n  ${uiLink(rc.config, id)}\n`,
        );
      }),
    );

  program
    .command('result <id>')
    .description('wait for a job and print its result')
    .option('--json', 'print the result document')
    .option('--outputs', "load every subtask's full output from the blob store (sharded jobs keep them there)")
    .option('--transcript <ID>', "print one sub-agent's conversation (turns, tool calls, tool results, usage)")
    .action(async (id: string, opts: { json?: boolean; outputs?: boolean; transcript?: string }) =>
      withClient(async (rc) => {
        const doc = await getResult(rc, id);
        if (opts.transcript) {
          const t = await loadTranscript(doc, opts.transcript, openBlobStore(rc.config));
          process.stdout.write(opts.json ? `${JSON.stringify(t, null, 2)}\n` : formatTranscript(t));
          return;
        }
        if (!opts.outputs) return ctx.setExit(print(doc, opts.json));
        const full = await withFullOutputs(doc, openBlobStore(rc.config));
        if (!opts.json) process.stdout.write(formatOutputs(full));
        ctx.setExit(print(opts.json ? full : doc, opts.json));
      }),
    );

  program
    .command('cancel <id>')
    .description('cancel a job; finished subtasks are kept')
    .option('--synthesize', 'combine what finished into an answer before stopping')
    .option('--reason <text>', 'why, recorded in the history')
    .action(async (id: string, opts: { synthesize?: boolean; reason?: string }) =>
      withClient(async (rc) => {
        await cancelJob(rc, id, { synthesize: opts.synthesize ?? false, reason: opts.reason ?? null });
        process.stdout.write(`cancel requested for ${id}\n`);
      }),
    );
}
