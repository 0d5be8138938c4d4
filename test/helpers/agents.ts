/** Helpers for sub-agent tests: real MCP servers for a worker, and the simulator's log read turn by turn. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { McpServerConfig } from '../../activities/tools/mcp-config';
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

/** Agent turns the simulator served for conversations whose start contains `marker` (a test's own job text). */
export function agentCalls(
  sim: Simulator,
  marker: string,
  outcome: RequestLogEntry['outcome'] | 'any' = 'ok',
): AgentCall[] {
  return sim.log.flatMap((entry) => {
    const a = entry.agent;
    if (!a || !a.head.includes(marker) || (outcome !== 'any' && entry.outcome !== outcome)) return [];
    return [{ entry, subtask: subtaskIdOf(a.head) ?? '?', turn: a.turn }];
  });
}
