/**
 * One MCP server as the worker keeps it: a stdio server is spawned and restarted when it dies (lazily, on
 * the next call, so a server that keeps crashing costs one failed attempt per call, not a spin loop); a
 * Streamable HTTP server is reconnected the same way. Built on the MCP SDK's Client and transports.
 */
import type * as ClientModule from '@modelcontextprotocol/sdk/client/index.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type * as StdioModule from '@modelcontextprotocol/sdk/client/stdio.js';
import type * as HttpModule from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type * as TypesModule from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ToolContext, ToolOutcome } from './define';
import type { McpServerConfig } from './mcp-config';

/** The call could not be made (server gone, timed out, unreachable): retryable, unlike a tool's own error. */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

type McpSdk = typeof ClientModule & typeof StdioModule & typeof HttpModule & typeof TypesModule;
let sdk: McpSdk | undefined;

/**
 * The MCP SDK, required when a worker first connects to a server: most workers have no
 * RENGA_MCP_CONFIG, and the SDK (with ajv and its transports) is ~5 MiB of heap they would carry.
 */
function mcpSdk(): McpSdk {
  /* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
  return (sdk ??= {
    ...(require('@modelcontextprotocol/sdk/client/index.js') as typeof ClientModule),
    ...(require('@modelcontextprotocol/sdk/client/stdio.js') as typeof StdioModule),
    ...(require('@modelcontextprotocol/sdk/client/streamableHttp.js') as typeof HttpModule),
    ...(require('@modelcontextprotocol/sdk/types.js') as typeof TypesModule),
  });
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** Lines of a stdio server's stderr kept for error messages. */
const STDERR_LINES = 20;

export class McpServerConnection {
  tools: Tool[] = [];
  /** How many times the server was started (1 after a clean start; more after restarts). */
  starts = 0;
  private client: Client | null = null;
  private transport: Transport | null = null;
  private connecting: Promise<Client> | null = null;
  private closed = false;
  private readonly stderr: string[] = [];

  constructor(
    readonly name: string,
    private readonly config: McpServerConfig,
    private readonly log: (line: string) => void,
    private readonly startTimeoutMs: number,
  ) {}

  /** The stdio server's process id, while it runs (tests kill it to prove restarts). */
  get pid(): number | null {
    return this.transport && this.transport instanceof mcpSdk().StdioClientTransport ? this.transport.pid : null;
  }

  /** Connects and lists the server's tools; throws (with the server's stderr) if it cannot start in time. */
  async start(): Promise<void> {
    const client = await this.connected();
    this.tools = (await client.listTools(undefined, { timeout: this.startTimeoutMs })).tools;
  }

  async call(tool: string, args: unknown, ctx: ToolContext & { timeoutMs: number }): Promise<ToolOutcome> {
    const client = await this.connected();
    let result: CallToolResult;
    try {
      result = (await client.callTool(
        { name: tool, arguments: (args ?? {}) as Record<string, unknown> },
        undefined,
        // The signal makes the SDK send notifications/cancelled, so cancellation reaches the server's handler.
        { signal: ctx.signal, timeout: ctx.timeoutMs, resetTimeoutOnProgress: true },
      )) as CallToolResult;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const { McpError, ErrorCode } = mcpSdk();
      if (err instanceof McpError && (err.code === ErrorCode.InvalidParams || err.code === ErrorCode.MethodNotFound)) {
        // The model asked for something the server refuses: it can correct itself on its next turn.
        return { text: err.message, isError: true };
      }
      // A hung or broken server: drop the connection so the retried call starts a fresh one.
      await this.drop();
      throw new ToolUnavailableError(`MCP server "${this.name}" failed during ${tool}: ${describe(err)}`, {
        cause: err,
      });
    }
    return { text: resultText(result), isError: result.isError === true };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.transport = null;
    await client?.close().catch(() => undefined);
  }

  private connected(): Promise<Client> {
    if (this.closed) return Promise.reject(new ToolUnavailableError(`MCP server "${this.name}" is shut down`));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const transport = this.newTransport();
    const client = new (mcpSdk().Client)({ name: 'renga-worker', version: '1' });
    const restart = this.starts > 0;
    transport.onclose = () => {
      // Only the current connection's end matters; an old one closing after a restart is expected.
      if (this.transport !== transport || this.closed) return;
      this.client = null;
      this.transport = null;
      this.log(`MCP server "${this.name}" stopped; it is restarted on its next tool call`);
    };
    this.starts++;
    try {
      await client.connect(transport, { timeout: this.startTimeoutMs });
    } catch (err) {
      await client.close().catch(() => undefined);
      const tail = this.stderr.length ? ` (stderr: ${this.stderr.slice(-3).join(' | ')})` : '';
      throw new ToolUnavailableError(`MCP server "${this.name}" could not start: ${describe(err)}${tail}`, {
        cause: err,
      });
    }
    this.client = client;
    this.transport = transport;
    if (restart) this.log(`MCP server "${this.name}" restarted`);
    return client;
  }

  private newTransport(): Transport {
    const c = this.config;
    const { StreamableHTTPClientTransport, StdioClientTransport, getDefaultEnvironment } = mcpSdk();
    if ('url' in c) {
      return new StreamableHTTPClientTransport(new URL(c.url), { requestInit: { headers: c.headers } });
    }
    const transport = new StdioClientTransport({
      command: c.command,
      args: c.args,
      // Secrets reach a server only through its own `env` entry: the worker's environment is not inherited.
      env: { ...getDefaultEnvironment(), ...c.env },
      ...(c.cwd ? { cwd: c.cwd } : {}),
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        this.stderr.push(line.trim());
        if (this.stderr.length > STDERR_LINES) this.stderr.shift();
      }
    });
    return transport;
  }
}

/** The model reads text: text parts joined, other parts named, structured content as JSON. */
function resultText(result: CallToolResult): string {
  const parts = result.content.map((c) => {
    if (c.type === 'text') return c.text;
    if (c.type === 'resource' && 'text' in c.resource) return c.resource.text;
    return `[${c.type} content omitted]`;
  });
  if (parts.length === 0 && result.structuredContent) parts.push(JSON.stringify(result.structuredContent));
  return parts.join('\n');
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
