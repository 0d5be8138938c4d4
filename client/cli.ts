#!/usr/bin/env node
/**
 * The `renga` command. Each group of subcommands lives in client/commands/; this file wires them
 * up and turns every error into one of the exit codes in docs/architecture.md.
 */
import { ScheduleNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { Command, CommanderError } from 'commander';
import { ObjectStoreError } from '../shared/blobs/object-store';
import { ConfigError } from '../shared/config';
import { TemporalNotServingError } from '../temporal/connect';
import { InvalidJobInputError, JobAlreadyFinishedError, TemporalUnreachableError } from './api';
import { EXIT, UsageError, type CommandContext } from './cli-kit';
import { registerBatchCommands } from './commands/batch';
import { registerBlobCommands } from './commands/blobs';
import { registerInspectCommands } from './commands/inspect';
import { registerJobCommands } from './commands/jobs';
import { registerOpsCommands } from './commands/ops';
import { registerRedoCommand } from './commands/redo';
import { registerScheduleCommands } from './commands/schedule';
import { registerStackCommands } from './commands/stack';
import { registerToolCommands } from './commands/tools';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('renga')
    .description(
      'Durable LLM jobs on Temporal: a planner splits the job, fast workers run the parts, the planner combines them.',
    )
    .showHelpAfterError()
    .option(
      '--profile <name>',
      'Temporal connection profile from temporal.toml, shared with the temporal CLI (TEMPORAL_PROFILE)',
    )
    // Every command reads its configuration through Temporal's envconfig, which honours TEMPORAL_PROFILE.
    .hook('preAction', () => {
      const { profile } = program.opts<{ profile?: string }>();
      if (profile) process.env.TEMPORAL_PROFILE = profile;
    })
    .exitOverride();
  registerJobCommands(program, ctx);
  registerRedoCommand(program, ctx);
  registerInspectCommands(program, ctx);
  registerStackCommands(program, ctx);
  registerOpsCommands(program, ctx);
  registerBatchCommands(program, ctx);
  registerScheduleCommands(program);
  registerBlobCommands(program);
  registerToolCommands(program, ctx);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram({ setExit: (c) => (code = c) });
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
  if (err instanceof JobAlreadyFinishedError) {
    say(err.message);
    return EXIT.usage;
  }
  if (err instanceof ConfigError) {
    say(err.message);
    return EXIT.usage;
  }
  if (err instanceof TemporalUnreachableError || err instanceof TemporalNotServingError) {
    say(err.message);
    return EXIT.unreachable;
  }
  if (err instanceof ObjectStoreError) {
    say(err.message);
    return EXIT.jobFailed;
  }
  if (err instanceof WorkflowUpdateFailedError) {
    // The workflow's validator refused (e.g. approving a job that is not waiting for approval).
    say(`refused: ${err.cause?.message ?? err.message}`);
    return EXIT.usage;
  }
  if (err instanceof ScheduleNotFoundError) {
    say(`no such schedule: ${err.scheduleId}`);
    return EXIT.usage;
  }
  if (err instanceof WorkflowNotFoundError) {
    say(`no such job: ${err.message}`);
    return EXIT.usage;
  }
  say(err instanceof Error ? (err.stack ?? err.message) : String(err));
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
