/**
 * Sub-agents with tools, end to end: real dev server, real worker, real SDK against the simulator, and the
 * real filesystem MCP server (@modelcontextprotocol/server-filesystem) started over stdio by the worker.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ToolRegistry } from '../activities/tools/registry';
import { getResult, startJob } from '../client/api';
import { ResultDocumentSchema } from '../shared/schemas';
import { subagentWorkflowId } from '../workflows/subagent-definitions';
import { agentCalls, filesystemServer, folderWith } from './helpers/agents';
import { useStack } from './helpers/stack';

const stack = useStack({}, { worker: false });
const reports = folderWith({
  'q1.txt': 'Q1 report: revenue up 4%. RISK-ALPHA: one supplier delivers 60% of parts.',
  'q2.txt': 'Q2 report: revenue flat. RISK-BETA: the main loan is renegotiated in March.',
});
let tools: ToolRegistry;

beforeAll(async () => {
  tools = await ToolRegistry.start({ mcp: { file: 'test', servers: { fs: filesystemServer(reports) } } });
  await stack.startWorker({ tools });
});
afterAll(async () => {
  await tools?.close();
  rmSync(reports, { recursive: true, force: true });
});

/** Every payload of a history as text. */
function payloadTexts(node: unknown, out: string[] = []): string[] {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('utf8'));
  else if (Array.isArray(node)) node.forEach((n) => payloadTexts(n, out));
  else if (node && typeof node === 'object') Object.values(node).forEach((n) => payloadTexts(n, out));
  return out;
}

test('sub-agents read files through the filesystem MCP server; results reach the next turn and the answer reaches synthesis', async () => {
  const q1 = path.join(reports, 'q1.txt');
  const q2 = path.join(reports, 'q2.txt');
  const marker = `quarterly-fs-${Date.now()}`;
  const id = await startJob(stack.rc, {
    job: `Summarise the reports ${q1} and ${q2} and list the biggest risks (${marker}) [sim:tool-turns=2]`,
    maxSubtasks: 2,
    tools: ['mcp__fs__read_text_file'],
  });
  const doc = await getResult(stack.rc, id);
  expect(ResultDocumentSchema.parse(doc)).toEqual(doc);
  expect(doc.status).toBe('completed');
  expect(doc.plan!.subtasks.every((s) => s.tools?.join() === 'mcp__fs__read_text_file')).toBe(true);

  const calls = agentCalls(stack.sim, marker);
  for (const s of doc.subtasks) {
    const mine = calls.filter((c) => c.subtask === s.id).sort((a, b) => a.turn - b.turn);
    // Turn 1 asks for q1, turn 2 reads its content and asks for q2, turn 3 reads q2 and answers.
    expect(mine.map((c) => c.turn)).toEqual([1, 2, 3]);
    expect(mine.map((c) => c.entry.agent!.toolUse)).toEqual([
      { name: 'mcp__fs__read_text_file', input: { path: q1 } },
      { name: 'mcp__fs__read_text_file', input: { path: q2 } },
      null,
    ]);
    expect(mine[1]!.entry.agent!.toolResults).toEqual([
      { toolUseId: expect.any(String), isError: false, text: expect.stringContaining('RISK-ALPHA') },
    ]);
    expect(mine[2]!.entry.agent!.toolResults[0]!.text).toContain('RISK-BETA');
    expect(s).toMatchObject({
      status: 'completed',
      output: mine[2]!.entry.responseText,
      turns: 3,
      toolCalls: [
        { name: 'mcp__fs__read_text_file', ok: true, ms: expect.any(Number) },
        { name: 'mcp__fs__read_text_file', ok: true, ms: expect.any(Number) },
      ],
      transcriptRef: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(s.output).toContain('RISK-BETA');
    // Usage is the sum of the three turns the simulator served.
    expect(s.usage.outputTokens).toBe(mine.reduce((n, c) => n + c.entry.usage!.output_tokens, 0));
  }
  // The answers flowed into synthesis, and the synthesis is the job's answer.
  const synth = stack.sim.log.filter((e) => e.outcome === 'ok' && e.lastUserText.includes('Write the final answer'));
  const last = synth[synth.length - 1]!;
  for (const s of doc.subtasks) expect(last.lastUserText).toContain(s.output!);
  expect(doc.answer).toBe(last.responseText);

  // Each sub-agent is a child workflow whose activities are labelled by turn and tool; the file
  // contents (untrusted tool output) never enter its history: they travel by reference.
  // (The final answer quotes only the last turn's results, so q1's text has no business in the history.)
  const history = await stack.client.workflow.getHandle(subagentWorkflowId(id, 's1')).fetchHistory();
  const texts = payloadTexts(history);
  expect(texts).toContain('"subtask s1 · turn 2"');
  expect(texts).toContain('"tool mcp__fs__read_text_file"');
  expect(texts.some((t) => t.includes('RISK-ALPHA'))).toBe(false);
});
