#!/usr/bin/env node
/**
 * The `renga` command. Exit codes (DESIGN.md): 0 done, 1 the job failed or was cancelled,
 * 2 bad usage or input, 3 Temporal unreachable.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadClientConfig, loadWorkerConfig } from '../shared/config';
import type { ResultDocument } from '../shared/schemas';
import {
  InvalidJobInputError,
  TemporalUnreachableError,
  cancelJob,
  connect,
  describeJob,
  getProgress,
  getResult,
  startJob,
  uiLink,
  type RengaClient,
} from './api';
import { formatProgress, formatResult } from './format';
import { buildJobInput, type JobFlags } from './input';

export const EXIT = { ok: 0, jobFailed: 1, usage: 2, unreachable: 3 } as const;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${flag} takes a whole number ≥ 1, got '${value}'`);
    return Number(value);
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
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
    .option('--id <ID>', 'workflow id (default: derived from the job)');
}

interface JobCommandOpts extends JobFlags {
  id?: string;
  json?: boolean;
}

async function withClient<T>(fn: (rc: RengaClient) => Promise<T>): Promise<T> {
  const rc = await connect(loadClientConfig());
  try {
    return await fn(rc);
  } finally {
    await rc.close();
  }
}

function print(doc: ResultDocument, json: boolean | undefined): number {
  process.stdout.write(json ? `${JSON.stringify(doc, null, 2)}\n` : `${formatResult(doc)}\n`);
  return doc.status === 'completed' || doc.status === 'partial' ? EXIT.ok : EXIT.jobFailed;
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('renga')
    .description('Durable LLM jobs on Temporal: a planner splits the job, fast workers run the parts, the planner combines them.')
    .showHelpAfterError()
    .exitOverride();

  jobOptions(program.command('run'))
    .description('start a job and wait for it; prints the answer (or the result document with --json)')
    .option('--json', 'print the result document')
    .action(async (job: string | undefined, opts: JobCommandOpts) => {
      const input = buildJobInput(job, opts);
      await withClient(async (rc) => {
        const id = await startJob(rc, input, { workflowId: opts.id });
        if (!opts.json) process.stderr.write(`started ${id}\n  ${uiLink(rc.config, id)}\n`);
        setExit(print(await getResult(rc, id), opts.json));
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
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ workflowId: id, status: d.status.name, progress }, null, 2)}\n`
            : `${formatProgress(id, d.status.name, progress)}\n  ${uiLink(rc.config, id)}\n`,
        );
      }),
    );

  program
    .command('result <id>')
    .description('wait for a job and print its result')
    .option('--json', 'print the result document')
    .action(async (id: string, opts: { json?: boolean }) =>
      withClient(async (rc) => setExit(print(await getResult(rc, id), opts.json))),
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

  program
    .command('worker')
    .description('run a worker (Ctrl-C drains and stops it)')
    .action(async () => {
      const { startWorker } = await import('../worker/main');
      const running = await startWorker(loadWorkerConfig());
      await running.done;
    });

  program
    .command('dev [job]')
    .description('run the whole stack locally: Temporal dev server + Web UI, simulator (without a key), worker; then run a job')
    .option('--once', 'stop the stack after the job instead of keeping it up for the UI')
    .addOption(new Option('--db <file>', 'dev server database file').default('.temporal/dev.db'))
    .action(async (job: string | undefined, opts: { once?: boolean; db: string }) => {
      const { runDev } = await import('./dev');
      setExit(await runDev({ job, once: opts.once ?? false, dbFile: opts.db }));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander already printed its message.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const say = (msg: string) => process.stderr.write(`renga: ${msg}\n`);
  if (err instanceof InvalidJobInputError || err instanceof UsageError) {
    say(`invalid input: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof ConfigError) {
    say(err.message);
    return EXIT.usage;
  }
  if (err instanceof TemporalUnreachableError) {
    say(err.message);
    return EXIT.unreachable;
  }
  if (err instanceof WorkflowNotFoundError) {
    say(`no such job: ${err.message}`);
    return EXIT.usage;
  }
  say(err instanceof Error ? err.stack ?? err.message : String(err));
  return EXIT.jobFailed;
}

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(EXIT.jobFailed);
    },
  );
}
