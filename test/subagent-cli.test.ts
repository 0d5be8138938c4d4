/**
 * Sub-agents as a user meets them: a worker whose tools come from RENGA_MCP_CONFIG (the real filesystem
 * MCP server), `renga run --tools/--max-turns`, `renga result --transcript`, `renga watch`, `renga tools`,
 * and the bad inputs: an unknown tool (exit 2, nothing planned), an invalid config file (the worker stops
 * with exit 2 naming the file and the entry), a server that cannot start (withdrawn by name).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeSubtask } from '../client/watch';
import { ResultDocumentSchema } from '../shared/schemas';
import { filesystemServer, folderWith } from './helpers/agents';
import { runCli, useStack, type ChildWorker } from './helpers/stack';

const stack = useStack({}, { worker: false });
const reports = folderWith({ 'q3.txt': 'Q3 report: RISK-GAMMA: the warehouse lease ends in May.' });
const configs = folderWith({});
const mcpConfig = path.join(configs, 'mcp.json');
writeFileSync(
  mcpConfig,
  JSON.stringify({
    mcpServers: {
      fs: filesystemServer(reports),
      // Exits at once: must be reported by name and withdrawn, not waited for.
      broken: { command: process.execPath, args: ['-e', 'process.exit(3)'] },
    },
  }),
);
let worker: ChildWorker;

beforeAll(async () => {
  worker = await stack.spawnWorker({ RENGA_MCP_CONFIG: mcpConfig });
});
afterAll(() => {
  for (const dir of [reports, configs]) rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) =>
  runCli(stack, args, { RENGA_BLOB_DIR: path.join(stack.tmpDir, 'blobs'), RENGA_MCP_CONFIG: mcpConfig });

test('a server that cannot start is reported by name and withdrawn; the worker runs with the rest', () => {
  expect(worker.output()).toMatch(/MCP server "broken" could not start: .*; the tools of "broken" are withdrawn/);
  expect(worker.output()).toMatch(/renga worker tools: word_count, mcp__fs__read_file, .*\(withdrawn: broken\)/);
});

test('renga run --tools --max-turns, then --transcript prints the sub-agent conversation and watch its loop', async () => {
  const q3 = path.join(reports, 'q3.txt');
  const run = await cli([
    'run',
    `Find the risks in ${q3} [sim:tool-turns=1]`,
    '--max-subtasks',
    '1',
    '--tools',
    'mcp__fs__read_text_file',
    '--max-turns',
    '4',
    '--json',
  ]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const doc = ResultDocumentSchema.parse(JSON.parse(run.stdout));
  expect(doc.subtasks[0]).toMatchObject({
    status: 'completed',
    turns: 2,
    toolCalls: [{ name: 'mcp__fs__read_text_file', ok: true }],
  });

  const transcript = await cli(['result', doc.workflowId, '--transcript', 's1']);
  expect(transcript.code).toBe(0);
  expect(transcript.stdout).toContain('# s1 · 2 turns · tools: mcp__fs__read_text_file');
  expect(transcript.stdout).toContain(`→ mcp__fs__read_text_file {"path":"${q3}"}`);
  expect(transcript.stdout).toContain('← result: Q3 report: RISK-GAMMA');
  expect(transcript.stdout).toMatch(/## turn 2 · assistant · \d+ in · \d+ cache read/);

  const missing = await cli(['result', doc.workflowId, '--transcript', 's9']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('the job has no subtask s9');

  const watch = await cli(['watch', doc.workflowId]);
  expect(watch.code).toBe(0);
  expect(watch.stdout).toContain('s1 done (2 turns, 1 tool calls)');
});

test('a job naming a tool no worker offers fails before planning with UnknownTool; renga run exits 2', async () => {
  stack.sim.clearLog();
  const run = await cli(['run', 'Read the secret vault', '--tools', 'mcp__vault', 'word_count']);
  expect(run.code).toBe(2);
  expect(run.stderr.trim().split('\n').pop()).toMatch(
    /^renga: invalid input: .*no tool on this worker matches mcp__vault \(offered: /,
  );
  // Nothing was planned: no model call at all.
  expect(stack.sim.log).toHaveLength(0);
});

test('renga tools lists what the configuration offers, as --tools names them', async () => {
  const out = await cli(['tools', '--json']);
  const listed = JSON.parse(out.stdout) as {
    tools: { name: string; source: string }[];
    withdrawn: { server: string }[];
  };
  expect(listed.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['word_count', 'mcp__fs__read_text_file']));
  expect(listed.withdrawn.map((w) => w.server)).toEqual(['broken']);
  // A withdrawn server is an operational problem: exit 1, with the reason on stderr.
  expect(out.code).toBe(1);
  expect(out.stderr).toContain('MCP server "broken" could not start');
});

test('an invalid RENGA_MCP_CONFIG stops the worker at start with exit 2, naming the file and the entry', async () => {
  const bad = path.join(configs, 'bad.json');
  writeFileSync(bad, JSON.stringify({ mcpServers: { fs: { command: 'npx', args: 'not-a-list' } } }));
  const err = await stack.spawnWorker({ RENGA_MCP_CONFIG: bad }).then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err?.message).toContain('worker exited with 2 before it was ready');
  expect(err?.message).toContain(`renga worker: RENGA_MCP_CONFIG ${bad}: server "fs": args: `);
  const out = await cli(['run', 'x', '--tools', 'a;b']);
  expect(out.code).toBe(2);
  expect(out.stderr).toContain('tools.0: a tool name or prefix');
});

test('watch names a running sub-agent by turn and the tool it is calling', () => {
  expect(
    describeSubtask('s3', 'Read the reports', 'running', 1, null, {
      turn: 4,
      toolCalls: 3,
      runningTools: ['mcp__fs__read_file'],
    }),
  ).toBe('s3 running (attempt 1) · turn 4 · 3 tool calls · calling mcp__fs__read_file: Read the reports');
});
