/** worker · dev: the processes that run jobs rather than start them. */
import { Option, type Command } from 'commander';
import { loadWorkerConfig } from '../../shared/config';
import type { CommandContext } from '../cli-kit';

export function registerStackCommands(program: Command, ctx: CommandContext): void {
  program
    .command('worker')
    .description('run a worker (Ctrl-C drains and stops it)')
    .action(async () => {
      // Loaded lazily: the worker pulls in the native Temporal runtime, which other commands never need.
      const { startWorker } = await import('../../worker/main');
      const running = await startWorker(loadWorkerConfig());
      await running.done;
    });

  program
    .command('dev [job]')
    .description(
      'run the whole stack locally: Temporal dev server + Web UI, simulator (without a key), worker; then run a job',
    )
    .option('--once', 'stop the stack after the job instead of keeping it up for the UI')
    .addOption(new Option('--db <file>', 'dev server database file').default('.temporal/dev.db'))
    .option('--encrypt', 'encrypt payloads (dev key beside the database) and serve a codec server for the Web UI')
    .option('--verbose', 'print worker, SDK and Temporal server logs here instead of the log file beside the database')
    .action(
      async (job: string | undefined, opts: { once?: boolean; db: string; encrypt?: boolean; verbose?: boolean }) => {
        const { runDev } = await import('../dev');
        ctx.setExit(
          await runDev({
            job,
            once: opts.once ?? false,
            dbFile: opts.db,
            encrypt: opts.encrypt ?? false,
            verbose: opts.verbose ?? false,
          }),
        );
      },
    );
}
