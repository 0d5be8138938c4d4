/** redo: a new job from a finished one's plan and outputs, paying only for what runs again (client/redo.ts). */
import type { Command } from 'commander';
import { getResult, uiLink } from '../api';
import { UsageError, collect, withClient, type CommandContext } from '../cli-kit';
import { redoJob } from '../redo';
import { print } from './jobs';

interface RedoOpts {
  subtask?: string[];
  synthesis?: boolean;
  model?: string;
  id?: string;
  json?: boolean;
  detach?: boolean;
}

export function registerRedoCommand(program: Command, ctx: CommandContext): void {
  program
    .command('redo <id>')
    .description(
      "a new job that reuses a finished job's plan and outputs and runs again only the named subtasks (then the synthesis), or only the synthesis",
    )
    .option('--subtask <ID>', 'a subtask to run again (repeatable)', collect)
    .option('--synthesis', 'run only the synthesis again')
    .option('--model <id>', 'the model for what runs again (the named subtasks, or the synthesis)')
    .option('--id <ID>', 'workflow id of the new job (default: <id>-redo-<random>)')
    .option('--json', 'print the result document')
    .option('--detach', 'print the new job id and return without waiting')
    .action(async (originalId: string, opts: RedoOpts) => {
      const subtasks = opts.subtask ?? [];
      if (subtasks.length === 0 && !opts.synthesis) throw new UsageError('redo needs --subtask <id> or --synthesis');
      if (subtasks.length > 0 && opts.synthesis) {
        throw new UsageError(
          '--subtask and --synthesis exclude each other (a redo of subtasks runs the synthesis too)',
        );
      }
      await withClient(async (rc) => {
        const id = await redoJob(rc, originalId, {
          subtasks,
          ...(opts.model !== undefined ? { model: opts.model } : {}),
          ...(opts.id !== undefined ? { workflowId: opts.id } : {}),
        });
        if (opts.detach) {
          process.stdout.write(`${id}\n`);
          return;
        }
        if (!opts.json) process.stderr.write(`started ${id} (redo of ${originalId})\n  ${uiLink(rc.config, id)}\n`);
        ctx.setExit(print(await getResult(rc, id), opts.json));
      });
    });
}
