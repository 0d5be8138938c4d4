/** gc: removes blobs and offloaded payloads that no job has written for a while. */
import { InvalidArgumentError, type Command } from 'commander';
import type { ObjectStore } from '../../shared/blobs/object-store';
import { openObjectStore } from '../../shared/blobs/open';
import { loadClientConfig } from '../../shared/config';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/** `30d`, `12h`, `90m` → milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+)([dhm])$/.exec(value.trim());
  if (!m?.[1] || !m[2] || Number(m[1]) < 1)
    throw new InvalidArgumentError(`--older-than takes an age such as 30d, 12h or 90m, got '${value}'`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

interface GcReport {
  location: string;
  removed: number;
  removedBytes: number;
  kept: number;
}

async function collect(store: ObjectStore, cutoff: Date, dryRun: boolean): Promise<GcReport> {
  const report: GcReport = { location: store.location, removed: 0, removedBytes: 0, kept: 0 };
  const old: string[] = [];
  for await (const o of store.list()) {
    if (o.modified < cutoff) {
      old.push(o.key);
      report.removed++;
      report.removedBytes += o.bytes;
    } else report.kept++;
  }
  if (!dryRun) await store.delete(old);
  return report;
}

export function registerBlobCommands(program: Command): void {
  program
    .command('gc')
    .description(
      'remove blobs and offloaded payloads not written for longer than --older-than (choose more than the namespace retention plus your longest job)',
    )
    .requiredOption('--older-than <age>', 'e.g. 30d, 12h, 90m', parseAge)
    .option('--dry-run', 'count what would be removed, remove nothing')
    .option('--json', 'print the counts as JSON')
    .action(async (opts: { olderThan: number; dryRun?: boolean; json?: boolean }) => {
      const config = loadClientConfig();
      // Every put rewrites its object, so the modification time is the last time any job wrote it.
      const cutoff = new Date(Date.now() - opts.olderThan);
      const reports = [
        await collect(openObjectStore(config, 'blobs'), cutoff, opts.dryRun ?? false),
        await collect(openObjectStore(config, 'payloads'), cutoff, opts.dryRun ?? false),
      ];
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ cutoff: cutoff.toISOString(), dryRun: !!opts.dryRun, stores: reports }, null, 2)}\n`,
        );
        return;
      }
      for (const r of reports)
        process.stdout.write(
          `${r.location}: ${opts.dryRun ? 'would remove' : 'removed'} ${r.removed} (${(r.removedBytes / 1e6).toFixed(1)} MB), kept ${r.kept}\n`,
        );
    });
}
