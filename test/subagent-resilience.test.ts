/**
 * DESIGN guarantee 7: a sub-agent killed mid-loop resumes at its last finished turn. Workers are child
 * processes (SIGKILL, no goodbye); their tools come from RENGA_MCP_CONFIG, with a real MCP server that
 * logs each call so the test can tell that no finished tool call ran again.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getResult, startJob } from '../client/api';
import { agentCalls, folderWith, testToolsServer } from './helpers/agents';
import { useStack, waitUntil } from './helpers/stack';

const stack = useStack({}, { worker: false });
const state = folderWith({});
const mcpConfig = path.join(state, 'mcp.json');
writeFileSync(mcpConfig, JSON.stringify({ mcpServers: { t: testToolsServer(state) } }));
afterAll(() => rmSync(state, { recursive: true, force: true }));

test('kill -9 mid-loop: every sub-agent resumes at its turn; no finished turn or tool call runs again', async () => {
  stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 700 } });
  // Fixed text: the simulator's scripted loop lengths (2 to 12 turns) follow from it, so they differ the same way every run.
  const marker = 'resume-after-kill';
  const first = await stack.spawnWorker({ RENGA_MCP_CONFIG: mcpConfig });
  const id = await startJob(stack.rc, {
    job: `Echo a few notes (${marker}) [sim:tool-turns=2-12]`,
    maxSubtasks: 3,
    concurrency: 3,
    heartbeatTimeoutSeconds: 2,
    tools: ['mcp__t__echo'],
    maxTurns: 15,
  });
  // One sub-agent has answered while the others are mid-loop, at other turns.
  await waitUntil(() => {
    const calls = agentCalls(stack.sim, id, 'any');
    const answered = calls.filter((c) => c.entry.outcome === 'ok' && c.entry.agent!.toolUse === null);
    const lastTurn = new Map<string, number>();
    for (const c of calls) lastTurn.set(c.subtask, Math.max(lastTurn.get(c.subtask) ?? 0, c.turn));
    // The loops run in step, so "at other turns" is waited for, not assumed: another sub-agent has
    // gone past the turn at which the first one answered. Past it, not merely at another turn: one
    // still behind could catch up before the kill lands, and all would then be at the same turn.
    const firstAnswer = Math.min(...answered.map((c) => c.turn));
    const answeredBy = new Set(answered.map((c) => c.subtask));
    const past = [...lastTurn].some(([subtask, turn]) => !answeredBy.has(subtask) && turn > firstAnswer);
    return answered.length >= 1 && answered.length < 3 && lastTurn.size === 3 && past;
  }, 'one sub-agent has answered and the two others are mid-loop, at other turns');
  await first.kill('SIGKILL');
  // Requests are numbered on arrival; the ones in flight at the kill are logged (aborted) only later.
  const health = (await (await fetch(`${stack.sim.url}/_sim/health`)).json()) as { requests: number };

  await stack.spawnWorker({ RENGA_MCP_CONFIG: mcpConfig });
  const doc = await getResult(stack.rc, id);
  stack.sim.configure({ latencyMs: 0 });
  const lastAtKill = new Map<string, number>();
  for (const c of agentCalls(stack.sim, id, 'any'))
    if (c.entry.seq <= health.requests) lastAtKill.set(c.subtask, Math.max(lastAtKill.get(c.subtask) ?? 0, c.turn));
  expect(new Set(lastAtKill.values()).size).toBeGreaterThan(1);
  expect(doc.status).toBe('completed');

  const calls = agentCalls(stack.sim, id, 'any');
  // Sub-agents were at different turns (their scripted lengths differ), and each finished its loop.
  expect(new Set(doc.subtasks.map((s) => s.turns)).size).toBeGreaterThan(1);
  for (const s of doc.subtasks) {
    const mine = calls.filter((c) => c.subtask === s.id);
    const turns = [...new Set(mine.map((c) => c.turn))].sort((a, b) => a - b);
    expect(turns).toEqual(Array.from({ length: s.turns! }, (_, i) => i + 1));
    for (const turn of turns) {
      const requested = mine.filter((c) => c.turn === turn).length;
      // Only the turn in flight at the kill may have been asked for again.
      if (turn !== lastAtKill.get(s.id)) expect([s.id, turn, requested]).toEqual([s.id, turn, 1]);
    }
  }
  // Tool calls: each call's note names its conversation and turn; at most the ones in flight ran twice.
  const notes = readFileSync(path.join(state, 'echo-calls'), 'utf8').trim().split('\n');
  const repeated = notes.filter((n, i) => notes.indexOf(n) !== i);
  expect(repeated.length).toBeLessThanOrEqual(3);
  expect(new Set(notes).size).toBe(doc.subtasks.reduce((n, s) => n + s.toolCalls!.length, 0));
  expect(existsSync(mcpConfig)).toBe(true);
});
