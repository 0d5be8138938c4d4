/** schedule create · list · describe · pause · unpause · trigger · backfill · delete */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type ScheduleSummary } from '@temporalio/client';
import { InvalidArgumentError, type Command } from 'commander';
import {
  OVERLAP_POLICIES,
  SCHEDULE_NAME,
  createSchedule,
  describeSchedule,
  listSchedules,
  type OverlapName,
  type ScheduleTiming,
  type ScheduleView,
} from '../batch';
import { UsageError, withClient } from '../cli-kit';
import { checkCron } from '../cron';
import { batchInputFrom, batchOptions, type BatchFlags } from './batch';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseEvery(value: string): { every: string; everyMs: number } {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (!m || Number(m[1]) < 1)
    throw new InvalidArgumentError(`--every takes a duration such as 30s, 15m, 6h or 1d, got '${value}'`);
  return { every: value.trim(), everyMs: Number(m[1]) * UNIT_MS[m[2]!]! };
}

function parseOverlap(allowed: readonly OverlapName[]) {
  return (value: string): OverlapName => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(`--overlap takes ${allowed.join(', ')}, got '${value}'`);
    return value as OverlapName;
  };
}

function parseDate(flag: string) {
  return (value: string): Date => {
    const d = new Date(value);
    if (Number.isNaN(d.getTime()))
      throw new InvalidArgumentError(`${flag} takes a date/time such as 2026-11-01T02:00:00Z, got '${value}'`);
    return d;
  };
}

function checkTimezone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new UsageError(`--timezone: unknown time zone '${tz}' (use an IANA name such as Europe/Berlin)`);
  }
  return tz;
}

interface CreateOpts extends BatchFlags {
  cron?: string;
  every?: { every: string; everyMs: number };
  jobs: string;
  overlap?: OverlapName;
  timezone?: string;
  paused?: boolean;
  note?: string;
}

function formatView(v: ScheduleView): string {
  const lines = [
    `${v.name}: ${v.timing}${v.timezone ? ` (${v.timezone})` : ''} · overlap ${v.overlap} · ${v.paused ? `PAUSED${v.note ? ` (${v.note})` : ''}` : 'active'}`,
    `  jobs: ${String(v.memo.jobs ?? '?')} from ${String(v.memo.jobsFile ?? '?')} · mode ${String(v.memo.mode ?? 'direct')} · concurrency ${String(v.memo.concurrency ?? '?')}`,
    `  runs taken: ${v.actionsTaken} · skipped for overlap: ${v.skippedOverlap}${v.running.length ? ` · running: ${v.running.join(', ')}` : ''}`,
    `  next runs: ${v.paused ? '(paused)' : v.nextRuns.slice(0, 3).join(', ') || '(none)'}`,
    '  recent runs:',
  ];
  if (v.recentRuns.length === 0) lines.push('    (none yet)');
  for (const r of v.recentRuns) {
    const outcome = r.result
      ? `${r.result.jobs} jobs: ${r.result.counts.completed} completed, ${r.result.counts.partial} partial, ${r.result.counts.failed} failed · $${r.result.usage.costUsd.toFixed(4)}`
      : r.progress
        ? `${r.progress.done}/${r.progress.jobs} jobs done, ${r.progress.running} running`
        : '';
    lines.push(`    ${r.scheduledAt}  ${r.workflowId}  ${r.status}${outcome ? `  ${outcome}` : ''}`);
  }
  return lines.join('\n');
}

function formatSummary(s: ScheduleSummary): string {
  const memo = s.memo ?? {};
  const next = s.info.nextActionTimes[0]?.toISOString() ?? '-';
  const paused = s.state.paused ? 'paused' : 'active';
  return `${s.scheduleId.padEnd(24)} ${paused.padEnd(7)} ${String(memo.timing ?? '').padEnd(22)} jobs=${String(memo.jobs ?? '?')} next=${next}`;
}

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('scheduled batch jobs on Temporal Schedules');

  batchOptions(schedule.command('create <name>'))
    .description('create a schedule that runs the jobs file as a batch')
    .option('--cron <expr>', 'cron expression, e.g. "0 2 * * *"')
    .option('--every <duration>', 'interval, e.g. 6h, 30m, 1d', parseEvery)
    .requiredOption('--jobs <jobs.jsonl>', 'one job input (JSON) per line')
    .option(
      '--overlap <policy>',
      'when a run is still going: skip (default), buffer-one or allow-all',
      parseOverlap(['skip', 'buffer-one', 'allow-all']),
    )
    .option('--timezone <tz>', 'IANA time zone for --cron (default UTC)')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'note recorded with the (paused) state')
    .action(async (name: string, opts: CreateOpts) => {
      if (!SCHEDULE_NAME.test(name))
        throw new UsageError(`schedule name '${name}': use letters, digits, '.', '_' and '-' (at most 100)`);
      if ((opts.cron === undefined) === (opts.every === undefined))
        throw new UsageError('give exactly one of --cron or --every');
      const timezone = opts.timezone !== undefined ? checkTimezone(opts.timezone) : undefined;
      const timing: ScheduleTiming = opts.cron !== undefined ? { cron: checkCron(opts.cron, timezone) } : opts.every!;
      const input = batchInputFrom(name, opts.jobs, opts);
      await withClient(async (rc) => {
        try {
          await createSchedule(rc, {
            name,
            timing,
            timezone,
            overlap: opts.overlap ?? 'skip',
            input,
            jobsFile: opts.jobs,
            paused: opts.paused,
            note: opts.note,
          });
        } catch (err) {
          if (err instanceof ScheduleAlreadyRunning)
            throw new UsageError(`schedule '${name}' already exists (delete it first, or pick another name)`, {
              cause: err,
            });
          throw err;
        }
        process.stdout.write(`created schedule ${name} (${input.jobs.length} jobs)\n`);
      });
    });

  schedule
    .command('list')
    .description("list renga's schedules")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) =>
      withClient(async (rc) => {
        const all = await listSchedules(rc);
        if (opts.json) {
          const rows = all.map((s) => ({
            name: s.scheduleId,
            paused: s.state.paused,
            note: s.state.note ?? null,
            memo: s.memo ?? {},
            nextRuns: s.info.nextActionTimes.map((t) => t.toISOString()),
          }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        } else {
          process.stdout.write(all.length ? `${all.map(formatSummary).join('\n')}\n` : '(no schedules)\n');
        }
      }),
    );

  schedule
    .command('describe <name>')
    .description('timing, policy, next runs and recent runs with their outcome')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) =>
      withClient(async (rc) => {
        const v = await describeSchedule(rc, name);
        process.stdout.write(opts.json ? `${JSON.stringify(v, null, 2)}\n` : `${formatView(v)}\n`);
      }),
    );

  schedule
    .command('pause <name>')
    .description('stop starting runs (running ones continue)')
    .option('--note <text>', 'why, shown by describe')
    .action(async (name: string, opts: { note?: string }) =>
      withClient(async (rc) => {
        await rc.client.schedule.getHandle(name).pause(opts.note ?? 'paused with renga');
        process.stdout.write(`paused ${name}\n`);
      }),
    );

  schedule
    .command('unpause <name>')
    .description('resume the schedule')
    .option('--note <text>', 'why, shown by describe')
    .action(async (name: string, opts: { note?: string }) =>
      withClient(async (rc) => {
        await rc.client.schedule.getHandle(name).unpause(opts.note ?? 'unpaused with renga');
        process.stdout.write(`unpaused ${name}\n`);
      }),
    );

  schedule
    .command('trigger <name>')
    .description("run now, subject to the schedule's overlap policy unless --overlap overrides it")
    .option(
      '--overlap <policy>',
      'skip, buffer-one, buffer-all or allow-all for this trigger',
      parseOverlap(['skip', 'buffer-one', 'buffer-all', 'allow-all']),
    )
    .action(async (name: string, opts: { overlap?: OverlapName }) =>
      withClient(async (rc) => {
        const handle = rc.client.schedule.getHandle(name);
        // The SDK's trigger() defaults to ALLOW_ALL, which would start a second run next to a
        // running one even on a `skip` schedule: pass the schedule's own policy instead.
        const overlap = opts.overlap
          ? OVERLAP_POLICIES[opts.overlap]
          : ((await handle.describe()).policies.overlap ?? ScheduleOverlapPolicy.SKIP);
        await handle.trigger(overlap);
        process.stdout.write(`triggered ${name} (overlap ${overlap})\n`);
      }),
    );

  schedule
    .command('backfill <name>')
    .description('take the runs the schedule would have taken between --from and --to')
    .requiredOption('--from <time>', 'start, e.g. 2026-11-01T00:00:00Z', parseDate('--from'))
    .requiredOption('--to <time>', 'end', parseDate('--to'))
    .option(
      '--overlap <policy>',
      'skip, buffer-one, buffer-all (default: one after another) or allow-all',
      parseOverlap(['skip', 'buffer-one', 'buffer-all', 'allow-all']),
    )
    .action(async (name: string, opts: { from: Date; to: Date; overlap?: OverlapName }) => {
      if (opts.to <= opts.from) throw new UsageError('--to must be after --from');
      await withClient(async (rc) => {
        await rc.client.schedule
          .getHandle(name)
          .backfill({ start: opts.from, end: opts.to, overlap: OVERLAP_POLICIES[opts.overlap ?? 'buffer-all'] });
        process.stdout.write(
          `backfill requested for ${name}: ${opts.from.toISOString()} .. ${opts.to.toISOString()}\n`,
        );
      });
    });

  schedule
    .command('delete <name>')
    .description('delete the schedule (runs already started continue)')
    .action(async (name: string) =>
      withClient(async (rc) => {
        await rc.client.schedule.getHandle(name).delete();
        process.stdout.write(`deleted ${name}\n`);
      }),
    );
}
