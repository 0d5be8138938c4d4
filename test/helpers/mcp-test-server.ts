/**
 * A real MCP server (the official SDK's McpServer) with tools that misbehave on purpose, for the
 * sub-agent tests: one that kills its own server mid-call once, and one that waits until its call is
 * cancelled. State lives in files under the directory given as the first argument, so the test sees what
 * happened across restarts. `--http` serves Streamable HTTP (stateless) and prints its URL instead of stdio.
 *
 *   node --import tsx test/helpers/mcp-test-server.ts <state-dir> [--http]
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { z } from 'zod';

const stateDir = process.argv[2];
if (!stateDir) throw new Error('usage: mcp-test-server.ts <state-dir> [--http]');
const state = (name: string) => path.join(stateDir, name);
appendFileSync(state('starts'), `${process.pid}\n`);

function build(): McpServer {
  const server = new McpServer({ name: 'renga-test-tools', version: '1.0.0' });
  server.registerTool(
    'crash_once',
    {
      description: 'Answers with its note; the first call ever kills the server instead.',
      inputSchema: { note: z.string() },
    },
    ({ note }) => {
      if (!existsSync(state('crashed'))) {
        writeFileSync(state('crashed'), 'yes');
        process.exit(1);
      }
      return { content: [{ type: 'text', text: `survived: ${note}` }] };
    },
  );
  server.registerTool(
    'wait_for_cancel',
    { description: 'Waits until the call is cancelled.', inputSchema: { note: z.string() } },
    async (_args, extra) => {
      writeFileSync(state('waiting'), 'yes');
      await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
      writeFileSync(state('cancelled'), 'yes');
      return { content: [{ type: 'text', text: 'cancelled' }] };
    },
  );
  server.registerTool(
    'echo',
    {
      description: 'Answers with its note (and logs it, so a test can count calls).',
      inputSchema: { note: z.string() },
    },
    ({ note }) => {
      appendFileSync(state('echo-calls'), `${JSON.stringify(note)}\n`);
      return { content: [{ type: 'text', text: `echo: ${note}` }] };
    },
  );
  return server;
}

async function main(): Promise<void> {
  if (!process.argv.includes('--http')) {
    await build().connect(new StdioServerTransport());
    return;
  }
  const httpServer = http.createServer((req, res) => {
    // Stateless Streamable HTTP: a fresh server and transport per request.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close());
    build()
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
  });
  httpServer.listen(0, '127.0.0.1', () => {
    const addr = httpServer.address();
    if (addr && typeof addr === 'object') process.stdout.write(`listening http://127.0.0.1:${addr.port}/mcp\n`);
  });
}

void main();
