/**
 * CPU of the model stream's idle watchdog (activities/idle-watchdog.ts) while streams are open, in one
 * process: its shared pause ticker runs as long as any stream is open, so the cost is per second, not
 * per call. Each round measures an interval with no stream open, then the same interval with
 * `--streams` watchdogs open (idle limits far beyond the interval, so only the ticker runs).
 *
 *   npx tsx bench/watchdog-cpu.ts [--streams=64] [--seconds=20] [--rounds=3]
 */
import { startIdleWatchdog } from '../activities/idle-watchdog';

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);

const streams = arg('streams', 64);
const seconds = arg('seconds', 20);
const rounds = arg('rounds', 3);

/** CPU milliseconds this process spends over `secs` with `open` watchdogs open. */
async function interval(open: number, secs = seconds): Promise<number> {
  const dogs = Array.from({ length: open }, () => startIdleWatchdog(3_600_000, () => undefined));
  // The same timer in both intervals, so the difference is the watchdogs' alone.
  const keepAlive = setInterval(() => undefined, 1_000);
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, secs * 1_000));
  const used = process.cpuUsage(before);
  clearInterval(keepAlive);
  for (const d of dogs) d.stop();
  return (used.user + used.system) / 1_000;
}

async function main(): Promise<void> {
  console.log(`idle watchdog: ${rounds} rounds of ${seconds} s with no stream open, then ${streams} open`);
  // Start-up work lands in a warm-up, not in round 1: compilations, and V8's memory reducer, which
  // collects garbage ~8 s after the process starts.
  await interval(streams, 12);
  for (let i = 1; i <= rounds; i++) {
    const none = await interval(0);
    const open = await interval(streams);
    const perSecond = (open - none) / seconds;
    console.log(
      `round ${i}: ${none.toFixed(1)} ms CPU with none, ${open.toFixed(1)} ms with ${streams} open: ` +
        `${perSecond.toFixed(2)} ms a second (${(perSecond / 10).toFixed(3)} % of a core)`,
    );
  }
}

void main();
