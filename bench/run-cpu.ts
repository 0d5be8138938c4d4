/**
 * `npx tsx bench/run-cpu.ts [--copies=200] [--rounds=3] [FIXTURE.json …]`
 *
 * The workflow code's CPU per run, by workflow type: each recorded history in test/fixtures (or the
 * files named) is replayed `--copies` times in one replay worker, as many runs of that type, and the
 * CPU is divided by the runs. What a run costs before its first command (evaluating the modules it
 * imports, which the reusable V8 context does again for every run) shows here, for the job, shard
 * and sub-agent runs alike. No server and no activities: two versions of the workflow code compare
 * on the same histories even on a busy machine. The first round warms the worker up and is not shown.
 */
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { log } from './context';
import { bundleRengaWorkflows } from '../worker/workflow-bundle';

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const DEFAULT_FIXTURES = ['plain', 'sharded-shard', 'subagent-history'].map((f) =>
  path.join(__dirname, '..', 'test', 'fixtures', `${f}.json`),
);

async function main(): Promise<void> {
  const copies = Number(arg('copies') ?? 200);
  const rounds = Number(arg('rounds') ?? 3);
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  // A replay has no sinks registered: the SDK logs each call to one (the job's metrics) at ERROR.
  Runtime.install({
    logger: new DefaultLogger('ERROR', (entry) => {
      if (!entry.message.includes('unregistered external sink')) console.error(entry.message, entry.meta);
    }),
  });
  const { code } = await bundleRengaWorkflows();
  for (const file of files.length ? files : DEFAULT_FIXTURES) {
    const history = JSON.parse(readFileSync(file, 'utf8')) as temporal.api.history.v1.IHistory;
    const perRun: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      const histories = Array.from({ length: copies }, (_, i) => ({ workflowId: `r${round}-${i}`, history }));
      const cpu0 = process.cpuUsage();
      for await (const result of Worker.runReplayHistories({ workflowBundle: { code } }, histories)) {
        if (result.error) throw new Error(`${path.basename(file)} does not replay: ${result.error.message}`);
      }
      const { user, system } = process.cpuUsage(cpu0);
      if (round > 0) perRun.push((user + system) / 1000 / copies);
    }
    log(
      `${path.basename(file)} (${history.events?.length ?? 0} events): CPU per run ` +
        `${perRun.map((ms) => ms.toFixed(1)).join(' / ')} ms (${rounds} rounds of ${copies} runs)`,
    );
  }
}

main().catch((err) => {
  console.error('run-cpu FAILED:', err);
  process.exit(1);
});
