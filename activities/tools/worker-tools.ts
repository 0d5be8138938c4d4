/** The worker's tools at start: RENGA_MCP_CONFIG validated (or the worker stops), servers started, one line logged. */
import { loadMcpConfig } from './mcp-config';
import { ToolRegistry } from './registry';

export async function startWorkerTools(file: string | undefined, log: (line: string) => void): Promise<ToolRegistry> {
  const mcp = loadMcpConfig(file);
  const registry = await ToolRegistry.start({ mcp, log });
  const names = registry.list().map((t) => t.name);
  log(
    `renga worker tools: ${names.join(', ') || 'none'}` +
      (registry.withdrawn.length ? ` (withdrawn: ${registry.withdrawn.map((w) => w.server).join(', ')})` : ''),
  );
  return registry;
}
