/**
 * Every tool a worker offers: TypeScript tools (defineTool) and the tools of its MCP servers, under the
 * names the model sees (`word_count`, `mcp__fs__read_file`). A server that cannot start is reported by
 * name and its tools are withdrawn; the worker runs on without them.
 */
import type { ToolContext, ToolDefinition, ToolOutcome } from './define';
import { McpServerConnection } from './mcp';
import type { McpConfig } from './mcp-config';
import { wordCount } from './word-count';

/** TypeScript tools every worker registers (one documented example). */
export const BUILTIN_TOOLS: readonly ToolDefinition[] = [wordCount];

export interface ToolInfo {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** `builtin`, or `mcp:<server>`. */
  source: string;
}

export interface Withdrawn {
  server: string;
  reason: string;
}

export interface RegistryOptions {
  mcp?: McpConfig | null;
  /** Default: BUILTIN_TOOLS. */
  tools?: readonly ToolDefinition[];
  log?: (line: string) => void;
  /** How long a server may take to start and list its tools before it is withdrawn. */
  startTimeoutMs?: number;
}

const MCP_PREFIX = 'mcp__';
const MAX_TOOL_NAME = 64;

export class ToolRegistry {
  private readonly byName = new Map<
    string,
    { info: ToolInfo; run: (input: unknown, ctx: ToolContext & { timeoutMs: number }) => Promise<ToolOutcome> }
  >();
  readonly servers = new Map<string, McpServerConnection>();
  readonly withdrawn: Withdrawn[] = [];

  private constructor() {}

  /** TypeScript tools only (no MCP servers to start). */
  static of(tools: readonly ToolDefinition[] = BUILTIN_TOOLS): ToolRegistry {
    const reg = new ToolRegistry();
    for (const t of tools) {
      reg.add({ name: t.name, description: t.description, inputSchema: t.inputSchema, source: 'builtin' }, (i, c) =>
        t.call(i, c),
      );
    }
    return reg;
  }

  /** TypeScript tools plus the tools of every MCP server in the configuration that starts in time. */
  static async start(opts: RegistryOptions = {}): Promise<ToolRegistry> {
    const reg = ToolRegistry.of(opts.tools);
    const log = opts.log ?? ((line: string) => console.error(line));
    const entries = Object.entries(opts.mcp?.servers ?? {});
    // In parallel: one slow server must not delay the others.
    const started = await Promise.all(
      entries.map(async ([name, config]) => {
        const conn = new McpServerConnection(name, config, log, opts.startTimeoutMs ?? 30_000);
        try {
          await conn.start();
          return conn;
        } catch (err) {
          await conn.close();
          const reason = err instanceof Error ? err.message : String(err);
          reg.withdrawn.push({ server: name, reason });
          log(`renga worker: ${reason}; the tools of "${name}" are withdrawn`);
          return null;
        }
      }),
    );
    for (const conn of started) {
      if (!conn) continue;
      reg.servers.set(conn.name, conn);
      for (const tool of conn.tools) {
        const name = `${MCP_PREFIX}${conn.name}__${tool.name}`;
        if (name.length > MAX_TOOL_NAME || !/^[a-zA-Z0-9_-]+$/.test(name)) {
          log(`renga worker: MCP tool ${name} skipped: the Messages API allows tool names of at most 64 [a-zA-Z0-9_-]`);
          continue;
        }
        reg.add(
          {
            name,
            description: tool.description ?? tool.title ?? tool.name,
            inputSchema: tool.inputSchema as Record<string, unknown>,
            source: `mcp:${conn.name}`,
          },
          (input, ctx) => conn.call(tool.name, input, ctx),
        );
      }
    }
    return reg;
  }

  list(): ToolInfo[] {
    return [...this.byName.values()].map((t) => t.info);
  }

  /** Names and prefixes (`mcp__fs` matches `mcp__fs__*`) → the tools they select, and the ones nothing matches. */
  resolve(patterns: readonly string[]): { tools: ToolInfo[]; unknown: string[] } {
    const picked = new Map<string, ToolInfo>();
    const unknown: string[] = [];
    for (const p of patterns) {
      const hits = this.list().filter((t) => t.name === p || t.name.startsWith(`${p}__`));
      if (hits.length === 0) unknown.push(p);
      for (const t of hits) picked.set(t.name, t);
    }
    return { tools: [...picked.values()], unknown };
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): ToolInfo | undefined {
    return this.byName.get(name)?.info;
  }

  async call(name: string, input: unknown, ctx: ToolContext & { timeoutMs: number }): Promise<ToolOutcome> {
    const tool = this.byName.get(name);
    // The model can name a tool it was not offered: that is its mistake to fix, not a failure.
    if (!tool) return { text: `no tool named ${name} is available`, isError: true };
    return tool.run(input, ctx);
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.close()));
  }

  private add(
    info: ToolInfo,
    run: (input: unknown, ctx: ToolContext & { timeoutMs: number }) => Promise<ToolOutcome>,
  ): void {
    if (this.byName.has(info.name)) throw new Error(`two tools are named ${info.name}`);
    this.byName.set(info.name, { info, run });
  }
}
