/** watch · list · approve · reject: following and steering running jobs. */
import { InvalidArgumentError, type Command } from 'commander';
import { approvePlan, listJobs, rejectPlan, uiLink, type JobListing } from '../api';
import { EXIT, positiveInt, withClient, type CommandContext } from '../cli-kit';
import { watchJob } from '../watch';

/** `--since 2h`, `--since 3d`, or an ISO date. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const rel = /^(\d+)\s*(m|h|d)$/.exec(value.trim());
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  const abs = new Date(value);
  if (Number.isNaN(abs.getTime()))
    throw new InvalidArgumentError(`--since takes 30m, 2h, 7d or a date, got '${value}'`);
  return abs;
}

function formatListing(rows: JobListing[]): string {
  if (rows.length === 0) return 'no jobs match';
  const lines = rows.map((r) =>
    [
      r.workflowId,
      r.execution.toLowerCase(),
      r.status ?? '-',
      r.phase ?? '-',
      r.total === null ? '-' : `${r.done ?? 0}/${r.total}`,
      r.costUsd === null ? '-' : `$${r.costUsd.toFixed(4)}`,
      r.startTime.toISOString(),
    ].join('  '),
  );
  return ['workflow id  execution  status  phase  done  cost  started', ...lines].join('\n');
}

export function registerInspectCommands(program: Command, ctx: CommandContext): void {
  program
    .command('watch <id>')
    .description('follow a job live until it ends (Ctrl-C stops watching; the job keeps running)')
    .option('--interval <ms>', 'refresh period in milliseconds', positiveInt('--interval'), 1000)
    .action(async (id: string, opts: { interval: number }) =>
      withClient(async (rc) => {
        const doc = await watchJob(rc, id, {
          tty: Boolean(process.stdout.isTTY),
          write: (line) => process.stdout.write(`${line}\n`),
          intervalMs: opts.interval,
        });
        ctx.setExit(doc.status === 'completed' || doc.status === 'partial' ? EXIT.ok : EXIT.jobFailed);
      }),
    );

  program
    .command('list')
    .description('find jobs (visibility query over renga search attributes)')
    .option(
      '--status <S>',
      'Running, Completed, Failed, Canceled, Terminated, or a renga status: completed, partial, failed, cancelled',
    )
    .option('--phase <P>', 'planning, awaiting-approval, fanout, synthesizing, done')
    .option('--since <when>', 'started after: 30m, 2h, 7d or an ISO date', (v) => parseSince(v))
    .option('--limit <N>', 'at most N jobs', positiveInt('--limit'), 50)
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; phase?: string; since?: Date; limit: number; json?: boolean }) =>
      withClient(async (rc) => {
        const rows = await listJobs(rc, opts);
        process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatListing(rows)}\n`);
      }),
    );

  program
    .command('approve <id>')
    .description('approve the plan of a job started with --approve-plan')
    .action(async (id: string) =>
      withClient(async (rc) => {
        await approvePlan(rc, id);
        process.stdout.write(`plan approved for ${id}\n  ${uiLink(rc.config, id)}\n`);
      }),
    );

  program
    .command('reject <id>')
    .description('reject the plan of a job started with --approve-plan; the job ends cancelled')
    .requiredOption('--reason <text>', 'why, recorded in the job result')
    .action(async (id: string, opts: { reason: string }) =>
      withClient(async (rc) => {
        await rejectPlan(rc, id, opts.reason);
        process.stdout.write(`plan rejected for ${id}\n`);
      }),
    );
}
