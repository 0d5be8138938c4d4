/** tools: what the worker configuration (RENGA_MCP_CONFIG plus the built-in TypeScript tools) offers sub-agents. */
import type { Command } from 'commander';
import { loadMcpConfig } from '../../activities/tools/mcp-config';
import { ToolRegistry } from '../../activities/tools/registry';
import { loadWorkerConfig } from '../../shared/config';
import { EXIT, type CommandContext } from '../cli-kit';

export function registerToolCommands(program: Command, ctx: CommandContext): void {
  program
    .command('tools')
    .description(
      'list the tools a worker with this environment offers (RENGA_MCP_CONFIG and built-in), as --tools names them',
    )
    .option('--json', 'print JSON: tools with their input schemas, and servers that could not start')
    .action(async (opts: { json?: boolean }) => {
      // Starts the servers exactly as a worker would, so what is listed is what a job can use.
      const mcp = loadMcpConfig(loadWorkerConfig().RENGA_MCP_CONFIG);
      const registry = await ToolRegistry.start({ mcp, log: (line) => process.stderr.write(`${line}\n`) });
      try {
        const tools = registry.list();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ tools, withdrawn: registry.withdrawn }, null, 2)}\n`);
        } else {
          const width = Math.max(4, ...tools.map((t) => t.name.length));
          const lines = tools.map(
            (t) => `${t.name.padEnd(width)}  ${t.source.padEnd(10)}  ${firstLine(t.description)}`,
          );
          process.stdout.write(
            `${[`${'name'.padEnd(width)}  ${'source'.padEnd(10)}  description`, ...lines].join('\n')}\n`,
          );
        }
        // A server that could not start is an operational problem, not bad usage: say so in the exit code.
        if (registry.withdrawn.length > 0) ctx.setExit(EXIT.jobFailed);
      } finally {
        await registry.close();
      }
    });
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
