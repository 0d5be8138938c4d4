/** batch run · batch start · batch result — a jobs file run once, without a schedule. */
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import type { BatchInputArg, BatchMode, BatchResult } from '../../shared/batch';
import { uiLink } from '../api';
import { getBatchResult, startBatch } from '../batch';
import { EXIT, positiveInt, withClient, type CommandContext } from '../cli-kit';
import { loadClientConfig } from '../../shared/config';
import { readJobsFile } from '../jobs-file';

export interface BatchFlags {
  concurrency?: number;
  mode?: BatchMode;
  pageSize?: number;
  pollSeconds?: number;
}

export function parseMode(value: string): BatchMode {
  if (value !== 'direct' && value !== 'batch-api')
    throw new InvalidArgumentError(`--mode takes direct or batch-api, got '${value}'`);
  return value;
}

/** Options shared by `batch run/start` and `schedule create`. */
export function batchOptions(cmd: Command): Command {
  return cmd
    .option('--concurrency <N>', 'jobs running at once (default 10)', positiveInt('--concurrency'))
    .option(
      '--mode <mode>',
      'direct (one call per subtask) or batch-api (Message Batches: half price, results within 24 h)',
      parseMode,
    )
    .option('--page-size <N>', 'jobs per workflow run before continue-as-new (default 200)', positiveInt('--page-size'))
    .option(
      '--poll-seconds <N>',
      'batch-api: first poll of a message batch after N seconds, doubling up to 10 min (default 30)',
      positiveInt('--poll-seconds'),
    );
}

export function batchInputFrom(name: string, jobsPath: string, flags: BatchFlags): BatchInputArg {
  const { jobs } = readJobsFile(jobsPath, loadClientConfig().RENGA_EXTRA_MODELS);
  return {
    name,
    jobs,
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.mode ? { mode: flags.mode } : {}),
    ...(flags.pageSize !== undefined ? { pageSize: flags.pageSize } : {}),
    ...(flags.pollSeconds !== undefined ? { batchPollSeconds: flags.pollSeconds } : {}),
  };
}

export function formatBatchResult(r: BatchResult): string {
  const c = r.counts;
  const lines = [
    `${r.workflowId}: ${r.jobs} jobs · ${c.completed} completed · ${c.partial} partial · ${c.failed} failed · ${c.cancelled} cancelled · $${r.usage.costUsd.toFixed(4)}` +
      ` (${r.mode}${r.runs > 1 ? `, ${r.runs} runs` : ''})`,
  ];
  for (const f of r.failures) lines.push(`  line ${f.line} ${f.status}: ${f.workflowId} — ${f.error ?? ''}`);
  return lines.join('\n');
}

/** 0 when every job completed (or ended partial), 1 when any failed or was cancelled. */
export function batchExit(r: BatchResult): number {
  return r.counts.failed + r.counts.cancelled > 0 ? EXIT.jobFailed : EXIT.ok;
}

function print(r: BatchResult, json: boolean | undefined): number {
  process.stdout.write(json ? `${JSON.stringify(r, null, 2)}\n` : `${formatBatchResult(r)}\n`);
  return batchExit(r);
}

interface RunOpts extends BatchFlags {
  id?: string;
  name?: string;
  json?: boolean;
}

export function registerBatchCommands(program: Command, ctx: CommandContext): void {
  const batch = program
    .command('batch')
    .description('run a jobs file (JSONL, one job input per line) once, without a schedule');

  batchOptions(batch.command('run <jobs.jsonl>'))
    .description('run every job of the file as a child workflow and wait; exit 1 if any job failed')
    .option('--name <name>', 'label of the batch (default: the file name)')
    .option('--id <ID>', 'workflow id of the batch')
    .option('--json', 'print the batch result document')
    .action(async (file: string, opts: RunOpts) => {
      const input = batchInputFrom(opts.name ?? path.basename(file, path.extname(file)), file, opts);
      await withClient(async (rc) => {
        const id = await startBatch(rc, input, { workflowId: opts.id });
        if (!opts.json) process.stderr.write(`started ${id}\n  ${uiLink(rc.config, id)}\n`);
        ctx.setExit(print(await getBatchResult(rc, id), opts.json));
      });
    });

  batchOptions(batch.command('start <jobs.jsonl>'))
    .description('start the batch and print its workflow id')
    .option('--name <name>', 'label of the batch (default: the file name)')
    .option('--id <ID>', 'workflow id of the batch')
    .action(async (file: string, opts: RunOpts) => {
      const input = batchInputFrom(opts.name ?? path.basename(file, path.extname(file)), file, opts);
      await withClient(async (rc) => process.stdout.write(`${await startBatch(rc, input, { workflowId: opts.id })}\n`));
    });

  batch
    .command('result <id>')
    .description('wait for a batch and print its outcome')
    .option('--json', 'print the batch result document')
    .action(async (id: string, opts: { json?: boolean }) =>
      withClient(async (rc) => ctx.setExit(print(await getBatchResult(rc, id), opts.json))),
    );
}
