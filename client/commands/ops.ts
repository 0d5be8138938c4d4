/** codec-server · keygen: what an operator runs next to the workers. */
import type { Command } from 'commander';
import { newKeyLine } from '../../shared/codec';
import { loadCodecServerConfig } from '../../shared/config';
import { UsageError, type CommandContext } from '../cli-kit';

export function registerOpsCommands(program: Command, _ctx: CommandContext): void {
  program
    .command('codec-server')
    .description(
      'serve /encode and /decode for the Temporal Web UI (RENGA_CODEC_TOKEN, RENGA_CODEC_PORT, RENGA_CODEC_CORS_ORIGIN)',
    )
    .action(async () => {
      const { startCodecServer } = await import('../codec-server');
      const server = await startCodecServer(loadCodecServerConfig(), (l) =>
        process.stderr.write(`renga codec-server: ${l}\n`),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });

  program
    .command('keygen [id]')
    .description('print a new encryption key line (id:base64) for RENGA_ENCRYPTION_KEYS or a keys file')
    .action((id: string | undefined) => {
      const keyId = id ?? `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`;
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(keyId))
        throw new UsageError(`key id '${keyId}' may only use letters, digits, '.', '_' and '-'`);
      process.stdout.write(`${newKeyLine(keyId)}\n`);
    });
}
