/** Helpers for sub-agent tests: real MCP servers for a worker, and the simulator's log read turn by turn. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { McpServerConfig } from '../../activities/tools/mcp-config';
import { belongsTo } from './calls';
import type { RequestLogEntry, Simulator } from '../../simulator/types';
import { subtaskIdOf } from './stack';

/** The official filesystem MCP server (a devDependency), started over stdio by node itself: no npx, no network. */
export function filesystemServer(root: string): McpServerConfig {
  return {
    command: process.execPath,
    args: [require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js'), root],
    env: {},
  };
}

/** A temp folder with the given files; returns its path. */
export function folderWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'renga-mcp-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

export interface AgentCall {
  entry: RequestLogEntry;
  subtask: string;
  turn: number;
}

/**
 * Agent turns the simulator served to job `id`'s sub-agents (child workflows `<id>--<subtask>`), by the
 * workflow id renga sends with every call, never by prompt text. Reads the log as it is now: await
 * `settled(sim, id)` first when an aborted call may still be landing.
 */
export function agentCalls(
  sim: Simulator,
  id: string,
  outcome: RequestLogEntry['outcome'] | 'any' = 'ok',
): AgentCall[] {
  return sim.log.flatMap((entry) => {
    const a = entry.agent;
    if (!a || !belongsTo(entry.workflowId, id) || (outcome !== 'any' && entry.outcome !== outcome)) return [];
    return [{ entry, subtask: subtaskIdOf(a.head) ?? '?', turn: a.turn }];
  });
}

const TEST_SERVER = path.join(__dirname, 'mcp-test-server.ts');

/** The misbehaving test MCP server (test/helpers/mcp-test-server.ts) over stdio, its state in `stateDir`. */
export function testToolsServer(stateDir: string): McpServerConfig {
  return { command: process.execPath, args: ['--import', 'tsx', TEST_SERVER, stateDir], env: {} };
}

/** The same server over Streamable HTTP, as a child process; resolves once it listens. */
export async function startHttpTestToolsServer(stateDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', TEST_SERVER, stateDir, '--http'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`test MCP server exited with ${code}`)));
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
