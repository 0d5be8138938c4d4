/**
 * RENGA_MCP_CONFIG: which MCP servers a worker starts, in the format Claude Desktop and Claude Code use
 * (`{"mcpServers": {name: {command, args, env} | {url, headers}}}`). Validated once at worker start; every
 * problem names the file and the entry, and stops the worker (exit 2) before it takes any work.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../shared/config';

/** Server names become part of tool names (`mcp__<name>__<tool>`): keep them to what tool names allow. */
const SERVER_NAME = /^[A-Za-z0-9-]{1,32}$/;

const StdioServerSchema = z.strictObject({
  command: z.string().min(1, 'command is empty'),
  args: z.array(z.string()).default([]),
  /**
   * The only way a secret reaches the server: the worker's own environment is not passed on
   * (the server gets PATH, HOME and the like, plus exactly these variables).
   */
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().min(1).optional(),
  type: z.literal('stdio').optional(),
});
const HttpServerSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }),
  headers: z.record(z.string(), z.string()).default({}),
  type: z.enum(['http', 'streamable-http']).optional(),
});
const ServerSchema = z.union([StdioServerSchema, HttpServerSchema], {
  error: 'each server needs either "command" (stdio) or "url" (Streamable HTTP)',
});
export type McpServerConfig = z.output<typeof ServerSchema>;
export type StdioServerConfig = z.output<typeof StdioServerSchema>;

export interface McpConfig {
  file: string;
  servers: Record<string, McpServerConfig>;
}

export class McpConfigError extends ConfigError {
  override readonly name = 'McpConfigError';
}

export function parseMcpConfig(text: string, file: string): McpConfig {
  const where = `RENGA_MCP_CONFIG ${file}`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new McpConfigError(`${where}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const top = z.strictObject({ mcpServers: z.record(z.string(), z.unknown()) }).safeParse(raw);
  if (!top.success) throw new McpConfigError(`${where}: expected {"mcpServers": {"<name>": {...}}}`);
  const servers: Record<string, McpServerConfig> = {};
  for (const [name, entry] of Object.entries(top.data.mcpServers)) {
    if (!SERVER_NAME.test(name)) {
      throw new McpConfigError(`${where}: server "${name}": names are 1-32 letters, digits or '-'`);
    }
    const isStdio = typeof entry === 'object' && entry !== null && 'command' in entry;
    const parsed = (isStdio ? StdioServerSchema : 'url' in Object(entry) ? HttpServerSchema : ServerSchema).safeParse(
      entry,
    );
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
      throw new McpConfigError(`${where}: server "${name}": ${issues.join('; ')}`);
    }
    servers[name] = parsed.data;
  }
  return { file, servers };
}

/** Reads and validates the file; `undefined` (variable unset) means no MCP servers. */
export function loadMcpConfig(file: string | undefined): McpConfig | null {
  if (!file) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new McpConfigError(
      `RENGA_MCP_CONFIG ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err },
    );
  }
  return parseMcpConfig(text, file);
}
