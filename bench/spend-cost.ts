/**
 * `npm run bench:cost [-- --no-write]`: what routing, prompt caching and Message Batches save on a
 * reference job with a shared context (50,000 tokens, 50 subtasks, one in five `strong`), against the
 * same job all on Sonnet without caching. Starts its own Temporal dev server, simulator and worker;
 * token counts are the simulator's `usage` (its cache follows the service's rules, simulator/cache.ts),
 * prices are shared/pricing.ts. Rewrites the "Cost with spend control" section of BENCHMARKS.md.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getResult, startJob, type RengaClient } from '../client/api';
import { loadClientConfig } from '../shared/config';
import type { JobInputArg, ResultDocument } from '../shared/schemas';
import { RENGA_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { startSimulator } from '../simulator/server';
import type { RequestLogEntry } from '../simulator/types';
import { startDevServer } from '../temporal/dev-server';
import { createRengaWorker } from '../worker/worker';

const PLANNER = 'claude-sonnet-4-6';
const WORKER = 'claude-haiku-4-5';
const SUBTASKS = 50;
const CONTEXT_TOKENS = 50_000;
const BEGIN = '<!-- cost-with-spend-control: begin (npm run bench:cost rewrites this section) -->';
const END = '<!-- cost-with-spend-control: end -->';

interface Row {
  setup: string;
  doc: ResultDocument;
  costUsd: number;
  inputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  outputTokens: number;
}

function log(line: string): void {
  console.error(`[bench:cost ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** ~CONTEXT_TOKENS tokens of varied text (the simulator counts 4 characters a token). */
function referenceContext(): string {
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < CONTEXT_TOKENS * 4; i++) {
    lines.push(
      `§${i + 1}. Service ${i % 17} writes ledger entries in batches of ${(i * 7) % 90} and retries after ${(i * 13) % 60} s; owner team ${i % 5}.`,
    );
  }
  return lines.join('\n').slice(0, CONTEXT_TOKENS * 4);
}

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'renga-bench-cost-'));
  const [server, sim] = await Promise.all([
    startDevServer({ uiPort: null, searchAttributes: RENGA_SEARCH_ATTRIBUTES }),
    startSimulator({ apiKey: 'sim-key' }),
  ]);
  const taskQueue = `bench-cost-${process.pid}`;
  const native = await NativeConnection.connect({ address: server.address });
  const worker = await createRengaWorker({
    connection: native,
    namespace: server.namespace,
    taskQueue,
    anthropic: { apiKey: 'sim-key', baseURL: sim.url },
    models: { planner: PLANNER, worker: WORKER },
    blobDir: path.join(tmp, 'blobs'),
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    }),
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: server.address });
  const rc: RengaClient = {
    client: new Client({ connection, namespace: server.namespace }),
    config: { ...loadClientConfig({}), TEMPORAL_ADDRESS: server.address, RENGA_TASK_QUEUE: taskQueue },
    close: async () => undefined,
  };
  const context = [{ name: 'reference.txt', content: referenceContext() }];
  const rows: Row[] = [];
  try {
    const setups: Array<[string, Partial<JobInputArg>, boolean]> = [
      ['all on Sonnet, no caching', { workerModel: PLANNER, route: 'off' }, false],
      ['routing (Haiku fast, Sonnet strong)', {}, false],
      ['routing + caching', {}, true],
      ['caching + batches (all subtasks on Haiku)', { fanOut: 'batch-api', batchPollSeconds: 1 }, true],
    ];
    for (const [i, [setup, extra, cache]] of setups.entries()) {
      const word = `costbench${i}x${process.pid}`;
      sim.configure({ promptCache: cache });
      sim.clearCache();
      // One subtask in five needs the strong model (what a planner following the guidance would choose).
      sim.scriptAnswer({
        match: { textIncludes: word, model: PLANNER },
        fields: { tier: ['fast', 'fast', 'strong', 'fast', 'fast'] },
        sticky: true,
      });
      log(`${setup}…`);
      const id = await startJob(rc, {
        job: `${word} Answer one question about the reference document per subtask: owners, retry policies, batch sizes.`,
        context,
        maxSubtasks: SUBTASKS,
        concurrency: 8,
        ...extra,
      });
      const doc = await getResult(rc, id);
      if (doc.status !== 'completed') throw new Error(`${setup}: the job ended ${doc.status}: ${doc.error ?? ''}`);
      rows.push(
        tally(
          setup,
          doc,
          sim.log.filter((e) => e.path === '/v1/messages' && e.lastUserText.includes(word)),
        ),
      );
      log(`${setup}: $${rows[rows.length - 1]!.costUsd.toFixed(4)}`);
    }
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await connection.close();
    await Promise.all([server.stop(), sim.close()]);
    rmSync(tmp, { recursive: true, force: true });
  }
  const section = report(rows);
  process.stdout.write(`${section}\n`);
  if (write) {
    const file = path.resolve(__dirname, '..', 'BENCHMARKS.md');
    const text = readFileSync(file, 'utf8');
    const start = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    const block = `${BEGIN}\n${section}\n${END}`;
    writeFileSync(
      file,
      start >= 0 && end > start
        ? text.slice(0, start) + block + text.slice(end + END.length)
        : `${text.trimEnd()}\n\n${block}\n`,
    );
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

/** Tokens and cost from the simulator's own usage of every call the job made (batch items at half price). */
function tally(setup: string, doc: ResultDocument, calls: RequestLogEntry[]): Row {
  const row: Row = {
    setup,
    doc,
    costUsd: doc.usage.costUsd,
    inputTokens: 0,
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    outputTokens: 0,
  };
  for (const e of calls) {
    if (!e.usage) continue;
    row.inputTokens += e.usage.input_tokens;
    row.cacheWriteTokens += e.usage.cache_creation_input_tokens ?? 0;
    row.cacheReadTokens += e.usage.cache_read_input_tokens ?? 0;
    row.outputTokens += e.usage.output_tokens;
  }
  // Batch items are not in the request log (they are answered inside the batch): add their usage from the document.
  if (calls.length < SUBTASKS + 2) {
    for (const s of doc.subtasks) {
      row.inputTokens += s.usage.inputTokens;
      row.cacheWriteTokens += s.usage.cacheWriteTokens;
      row.cacheReadTokens += s.usage.cacheReadTokens;
      row.outputTokens += s.usage.outputTokens;
    }
  }
  return row;
}

function report(rows: Row[]): string {
  const base = rows[0]!.costUsd;
  const L: string[] = [];
  L.push('## Cost with spend control', '');
  L.push(
    `\`npm run bench:cost\` (${new Date().toISOString().slice(0, 10)}): a reference job with a shared context of ${CONTEXT_TOKENS.toLocaleString('en-US')} tokens and ${SUBTASKS} subtasks ` +
      `(one in five planned \`strong\`), concurrency 8; token counts from the simulator's \`usage\` (its prompt cache follows the service's rules), list prices from shared/pricing.ts.`,
    '',
  );
  L.push(
    '| setup | input | cache write | cache read | output | cost | × all-Sonnet |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    const n = (x: number) => x.toLocaleString('en-US');
    L.push(
      `| ${r.setup} | ${n(r.inputTokens)} | ${n(r.cacheWriteTokens)} | ${n(r.cacheReadTokens)} | ${n(r.outputTokens)} | $${r.costUsd.toFixed(4)} | ${(r.costUsd / base).toFixed(3)} |`,
    );
  }
  const routed = rows[1]!.costUsd / base;
  const best = Math.min(...rows.slice(2).map((r) => r.costUsd)) / base;
  const withCache = rows[2]!;
  const noCache = rows[1]!;
  L.push(
    '',
    `Caching on the routed job: $${noCache.costUsd.toFixed(4)} without, $${withCache.costUsd.toFixed(4)} with ` +
      `(${withCache.cacheWriteTokens.toLocaleString('en-US')} tokens written, ${withCache.cacheReadTokens.toLocaleString('en-US')} read).`,
    '',
    `The routed job's own cost report (same tokens all on ${PLANNER}): $${withCache.doc.costReport?.allStrongUsd.toFixed(4) ?? '?'}, ` +
      `ratio ${withCache.doc.costReport?.ratio ?? '?'}; savings routing $${withCache.doc.costReport?.savingsUsd.routing.toFixed(4) ?? '?'}, caching $${withCache.doc.costReport?.savingsUsd.caching.toFixed(4) ?? '?'}.`,
    '',
    '| target | measured | |',
    '|---|---|---|',
    `| ≤ 0.35× all-Sonnet with a shared context (routing + caching) | ${(withCache.costUsd / base).toFixed(3)}× | **${withCache.costUsd / base <= 0.35 ? 'met' : 'not met'}** |`,
    `| ≤ 0.2× all-Sonnet with batches + caching | ${(rows[3]!.costUsd / base).toFixed(3)}× | **${rows[3]!.costUsd / base <= 0.2 ? 'met' : 'not met'}** |`,
    '',
    `Routing alone: ${routed.toFixed(3)}×; the cheapest setup: ${best.toFixed(3)}×. In batch mode every subtask runs on the worker model (the batch path does not route yet).`,
  );
  return L.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
