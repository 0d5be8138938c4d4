/**
 * Cron expressions for `renga schedule create --cron`, checked with croner before anything is
 * created: a bad field, an unknown `@name` or an expression that never fires (`0 0 30 2 *`) exits 2
 * naming the problem, instead of a server error or a schedule that silently never runs.
 */
import { Cron } from 'croner';
import { UsageError } from './cli-kit';

export function checkCron(cron: string, timezone?: string): string {
  const c = cron.trim();
  let next: Date | null;
  try {
    next = new Cron(c, { paused: true, ...(timezone ? { timezone } : {}) }).nextRun();
  } catch (err) {
    if (c.startsWith('@'))
      throw new UsageError(`--cron '${cron}': unknown shorthand (use @yearly, @monthly, @weekly, @daily or @hourly)`, {
        cause: err,
      });
    const why = (err as Error).message.replace(/^CronPattern: /, '');
    if (/space separated parts/.test(why))
      throw new UsageError(
        `--cron takes 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"; got '${cron}'`,
        { cause: err },
      );
    throw new UsageError(`--cron '${cron}': ${why}`, { cause: err });
  }
  if (next === null) throw new UsageError(`--cron '${cron}': never fires (no such date)`);
  return c;
}
