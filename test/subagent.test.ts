/**
 * Sub-agents with tools, end to end: real dev server, real worker, real SDK against the simulator, and the
 * real filesystem MCP server (@modelcontextprotocol/server-filesystem) started over stdio by the worker.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConversationStore } from '../activities/conversation';
import { defineTool } from '../activities/tools/define';
import { ToolRegistry } from '../activities/tools/registry';
import { wordCount } from '../activities/tools/word-count';
import { BlobStore } from '../shared/blobs/blob-store';
import { getResult, startJob } from '../client/api';
import { ResultDocumentSchema, type JobInputArg } from '../shared/schemas';
import { subagentWorkflowId } from '../workflows/subagent-definitions';
import { cancelJob } from '../client/api';
import { agentCalls, filesystemServer, folderWith, startHttpTestToolsServer, testToolsServer } from './helpers/agents';
import { okCallsOf } from './helpers/calls';
import { useStack, waitUntil, workflowBundle } from './helpers/stack';

const stack = useStack({}, { worker: false });
const reports = folderWith({
  'q1.txt': 'Q1 report: revenue up 4%. RISK-ALPHA: one supplier delivers 60% of parts.',
  'q2.txt': 'Q2 report: revenue flat. RISK-BETA: the main loan is renegotiated in March.',
});
/** State files of the misbehaving test MCP servers (which call crashed, which call was cancelled). */
const stdioState = folderWith({});
const httpState = folderWith({});
const alwaysFails = defineTool({
  name: 'always_fails',
  description: 'A tool whose every call throws.',
  input: z.object({ what: z.string() }),
  run: () => {
    throw new Error('the disk is on fire');
  },
});
let tools: ToolRegistry;
let httpServer: Awaited<ReturnType<typeof startHttpTestToolsServer>>;

beforeAll(async () => {
  httpServer = await startHttpTestToolsServer(httpState);
  tools = await ToolRegistry.start({
    mcp: {
      file: 'test',
      servers: {
        fs: filesystemServer(reports),
        t: testToolsServer(stdioState),
        h: { url: httpServer.url, headers: {} },
      },
    },
    tools: [wordCount, alwaysFails],
  });
  await stack.startWorker({ tools });
});
afterAll(async () => {
  await tools?.close();
  await httpServer?.stop();
  for (const dir of [reports, stdioState, httpState]) rmSync(dir, { recursive: true, force: true });
});

const run = async (job: string, options: Omit<JobInputArg, 'job'>) => {
  const id = await startJob(stack.rc, { job, maxSubtasks: 1, ...options });
  return { id, doc: await getResult(stack.rc, id) };
};

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

  const calls = agentCalls(stack.sim, id);
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
  const synth = (await okCallsOf(stack.sim, id)).filter((e) => e.activityType === 'synthesize');
  expect(synth).toHaveLength(1);
  const last = synth[0]!;
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

test('a tool that throws comes back to the model as an is_error result and the loop goes on', async () => {
  const marker = `fails-${Date.now()}`;
  const { id, doc } = await run(`Check the disk (${marker}) [sim:tool-turns=2]`, { tools: ['always_fails'] });
  expect(doc.status).toBe('completed');
  const s1 = doc.subtasks[0]!;
  expect(s1.turns).toBe(3);
  expect(s1.toolCalls!.map((c) => [c.name, c.ok])).toEqual([
    ['always_fails', false],
    ['always_fails', false],
  ]);
  const turns = agentCalls(stack.sim, id).sort((a, b) => a.turn - b.turn);
  expect(turns[1]!.entry.agent!.toolResults).toEqual([
    { toolUseId: expect.any(String), isError: true, text: 'the disk is on fire' },
  ]);
  expect(s1.output).toContain('error: the disk is on fire');
});

test('an MCP server that dies during a call is restarted and the call retried', async () => {
  const marker = `crash-${Date.now()}`;
  const { id, doc } = await run(`Survive a crash (${marker}) [sim:tool-turns=1]`, { tools: ['mcp__t__crash_once'] });
  expect(doc.status).toBe('completed');
  expect(doc.subtasks[0]!.toolCalls).toEqual([{ name: 'mcp__t__crash_once', ok: true, ms: expect.any(Number) }]);
  // Two server processes: the one that died mid-call and the one the retried call started.
  expect(readFileSync(path.join(stdioState, 'starts'), 'utf8').trim().split('\n')).toHaveLength(2);
  const answer = agentCalls(stack.sim, id).find((c) => c.turn === 2)!;
  expect(answer.entry.agent!.toolResults[0]!.text).toMatch(/^survived: /);
});

test('tools over Streamable HTTP work like stdio ones', async () => {
  const marker = `http-${Date.now()}`;
  const { id, doc } = await run(`Echo something (${marker}) [sim:tool-turns=1]`, { tools: ['mcp__h__echo'] });
  expect(doc.status).toBe('completed');
  expect(doc.subtasks[0]!.toolCalls).toEqual([{ name: 'mcp__h__echo', ok: true, ms: expect.any(Number) }]);
  const answer = agentCalls(stack.sim, id).find((c) => c.turn === 2)!;
  expect(answer.entry.agent!.toolResults[0]!.text).toMatch(/^echo: /);
  // A prefix selects every tool of the server, in the server's order.
  expect(tools.resolve(['mcp__h']).tools.map((t) => t.name)).toEqual([
    'mcp__h__crash_once',
    'mcp__h__wait_for_cancel',
    'mcp__h__echo',
  ]);
});

test('a sub-agent that reaches maxTurns fails with MaxTurnsExceeded and keeps its transcript', async () => {
  const marker = `turns-${Date.now()}`;
  const { id, doc } = await run(`Count words forever (${marker}) [sim:tool-turns=9]`, {
    tools: ['word_count'],
    maxTurns: 3,
  });
  expect(doc.status).toBe('failed');
  const s1 = doc.subtasks[0]!;
  expect(s1.status).toBe('failed');
  expect(s1.error).toMatch(/^MaxTurnsExceeded: /);
  expect(s1.turns).toBe(3);
  expect(s1.toolCalls).toHaveLength(2);
  expect(agentCalls(stack.sim, id)).toHaveLength(3);
  // Its three turns were paid for and are counted.
  expect(s1.usage.outputTokens).toBeGreaterThan(0);
  expect(doc.usage.byModel['claude-haiku-4-5']!.outputTokens).toBe(s1.usage.outputTokens);
  const transcript = await new ConversationStore(new BlobStore(path.join(stack.tmpDir, 'blobs'))).get(
    s1.transcriptRef!,
  );
  expect(transcript.turns.map((t) => t.turn)).toEqual([1, 2, 3]);
  expect(transcript.messages.map((m) => m.role)).toEqual([
    'user',
    'assistant',
    'user',
    'assistant',
    'user',
    'assistant',
  ]);
});

test('cancelling the job reaches a tool call that is running in an MCP server', async () => {
  const marker = `cancel-${Date.now()}`;
  const id = await startJob(stack.rc, {
    job: `Wait for a while (${marker}) [sim:tool-turns=1]`,
    maxSubtasks: 1,
    tools: ['mcp__t__wait_for_cancel'],
  });
  await waitUntil(() => existsSync(path.join(stdioState, 'waiting')), 'the tool call is running');
  await cancelJob(stack.rc, id, { reason: 'test' });
  // The server's handler saw the cancellation (MCP notifications/cancelled from the aborted call).
  await waitUntil(() => existsSync(path.join(stdioState, 'cancelled')), 'the tool call was cancelled');
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('cancelled');
  expect(doc.subtasks[0]!.status).toBe('skipped');
});

describe('replay', () => {
  const fixture = path.join(__dirname, 'fixtures', 'subagent-history.json');

  test('a sub-agent history (turns and tool calls) and the recorded fixture replay without nondeterminism', async () => {
    const { id, doc } = await run(`Count the words twice (replay-${Date.now()}) [sim:tool-turns=2]`, {
      tools: ['word_count'],
    });
    expect(doc.subtasks[0]!.turns).toBe(3);
    const childId = subagentWorkflowId(id, 's1');
    // Through proto3 JSON, the form histories are shared in (UI download, `temporal workflow show -o json`).
    const history = historyToJSON(await stack.client.workflow.getHandle(childId).fetchHistory());
    const bundle = await workflowBundle();
    await Worker.runReplayHistory({ workflowBundle: bundle }, JSON.parse(history), childId);
    if (!existsSync(fixture) || process.env.RENGA_RECORD_FIXTURES === '1') writeFileSync(fixture, history);
    // The committed fixture guards edits of workflows/subagent.ts against breaking running sub-agents.
    const recorded: unknown = JSON.parse(readFileSync(fixture, 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: bundle }, recorded, 'recorded-subagent');
  });
});
