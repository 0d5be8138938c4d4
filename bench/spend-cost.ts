/**
 * `npm run bench:cost [-- --no-write]`: what routing, prompt caching and Message Batches save on a
 * reference job with a shared context (50,000 tokens, 50 subtasks, one in five `strong`), against the
 * same job all on Sonnet without caching, each feature on its own and combined. Starts its own
 * Temporal dev server, simulator and worker; token counts are the simulator's `usage` (its cache
 * follows the service's rules, simulator/prompt-cache.ts), prices are shared/pricing.ts, and the
 * cost the job reports is checked against what the simulator served. Rewrites the "Cost with spend
 * control" section of BENCHMARKS.md (below the analysis marker, so `npm run bench` keeps it).
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
import { costUsd as priceOf, roundUsd } from '../shared/pricing';
import type { RequestLogEntry } from '../simulator/types';
import { startDevServer } from '../temporal/dev-server';
import { createRengaWorker } from '../worker/worker';

const PLANNER = 'claude-sonnet-4-6';
const WORKER = 'claude-haiku-4-5';
const SUBTASKS = 50;
const CONTEXT_TOKENS = 50_000;
/** Every text answer (subtask and synthesis) is this long: a paragraph, the same in every setup. */
const ANSWER_TOKENS = 400;
/** One subtask in five needs the strong model (what a planner following the guidance would choose). */
const TIERS = ['fast', 'fast', 'strong', 'fast', 'fast'];
const BEGIN = '<!-- cost-with-spend-control: begin (npm run bench:cost rewrites this section) -->';
const END = '<!-- cost-with-spend-control: end -->';

interface Row {
  setup: string;
  doc: ResultDocument;
  costUsd: number;
  /** What the simulator's usage of every call costs at list price (batch items at half price). */
  billedUsd: number;
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
    const allSonnet: Partial<JobInputArg> = { workerModel: PLANNER, route: 'off' };
    const batches: Partial<JobInputArg> = { fanOut: 'batch-api', batchPollSeconds: 1 };
    const setups: Array<[string, Partial<JobInputArg>, boolean]> = [
      ['all on Sonnet, no caching', allSonnet, false],
      ['caching only (all on Sonnet)', allSonnet, true],
      ['routing only (Haiku fast, Sonnet strong)', {}, false],
      ['routing + caching', {}, true],
      ['routing + batches', batches, false],
      ['routing + caching + batches', batches, true],
    ];
    for (const [i, [setup, extra, cache]] of setups.entries()) {
      const word = `costbench${i}x${process.pid}`;
      sim.configure({ promptCache: cache });
      sim.clearCache();
      // The planner's request alone carries "Plan the job"; every text answer gets the same length.
      sim.scriptAnswer(
        { match: { textIncludes: 'Plan the job', model: PLANNER }, fields: { tier: TIERS }, times: 1 },
        { match: { textIncludes: word }, lengthTokens: ANSWER_TOKENS, sticky: true },
      );
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
      const row = tally(
        setup,
        doc,
        sim.log.filter((e) => e.path === '/v1/messages' && e.workflowId === id),
      );
      // The job's own accounting must match what the simulator served, or the figures mean nothing.
      if (Math.abs(row.billedUsd - row.costUsd) > 1e-5) {
        throw new Error(`${setup}: the job reports $${row.costUsd} but the simulator served $${row.billedUsd}`);
      }
      rows.push(row);
      log(`${setup}: $${row.costUsd.toFixed(4)}`);
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
    billedUsd: 0,
    inputTokens: 0,
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    outputTokens: 0,
  };
  let billed = 0;
  for (const e of calls) {
    if (!e.usage || !e.model || e.outcome !== 'ok') continue;
    const usage = {
      inputTokens: e.usage.input_tokens,
      outputTokens: e.usage.output_tokens,
      cacheReadTokens: e.usage.cache_read_input_tokens ?? 0,
      cacheWriteTokens: e.usage.cache_creation_input_tokens ?? 0,
    };
    row.inputTokens += usage.inputTokens;
    row.cacheWriteTokens += usage.cacheWriteTokens;
    row.cacheReadTokens += usage.cacheReadTokens;
    row.outputTokens += usage.outputTokens;
    billed += priceOf(e.model, usage);
  }
  // Batch items are not in the request log (they are answered inside the batch): their usage is the
  // batch results' own, as the document recorded it, at the batch price.
  const direct = new Set(calls.filter((e) => e.activityType === 'runSubtask').map((e) => subtaskOf(e)));
  for (const s of doc.subtasks) {
    if (direct.has(s.id) || s.usage.inputTokens + s.usage.cacheReadTokens === 0) continue;
    row.inputTokens += s.usage.inputTokens;
    row.cacheWriteTokens += s.usage.cacheWriteTokens;
    row.cacheReadTokens += s.usage.cacheReadTokens;
    row.outputTokens += s.usage.outputTokens;
    billed += priceOf(s.model, s.usage, { batch: true });
  }
  row.billedUsd = roundUsd(billed);
  return row;
}

function subtaskOf(e: RequestLogEntry): string | null {
  return /^Subtask (s\d+) of \d+:/m.exec(e.lastUserText)?.[1] ?? null;
}

function report(rows: Row[]): string {
  const base = rows[0]!.costUsd;
  const ratio = (r: Row) => r.costUsd / base;
  const n = (x: number) => x.toLocaleString('en-US');
  const L: string[] = [];
  L.push('## Cost with spend control', '');
  L.push(
    `Generated by \`npm run bench:cost\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; every figure below is from that one run. ` +
      `A reference job with a shared context of ${n(CONTEXT_TOKENS)} tokens and ${SUBTASKS} subtasks (one in five planned \`strong\`), ` +
      `concurrency 8, every subtask answer and the synthesis ${ANSWER_TOKENS} tokens; planned and synthesized by ${PLANNER}, ` +
      `\`fast\` subtasks on ${WORKER}. Token counts are the simulator's \`usage\` of every call (its prompt cache follows the ` +
      `service's rules: prefix hashes, per-model minimums, 5-minute TTL; batch items from the batch results), priced at list ` +
      'prices (shared/pricing.ts); the cost each job reports was checked against that. Input is uncached input.',
    '',
  );
  L.push(
    '| setup | input | cache write | cache read | output | cost | × all-Sonnet |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    L.push(
      `| ${r.setup} | ${n(r.inputTokens)} | ${n(r.cacheWriteTokens)} | ${n(r.cacheReadTokens)} | ${n(r.outputTokens)} | $${r.costUsd.toFixed(4)} | ${ratio(r).toFixed(3)} |`,
    );
  }
  const routedCached = rows[3]!;
  const all = rows[5]!;
  const report = routedCached.doc.costReport;
  L.push(
    '',
    `The routing + caching job's own cost report (the same tokens all on ${PLANNER}, uncached): $${report?.allStrongUsd.toFixed(4) ?? '?'}, ` +
      `ratio ${report?.ratio.toFixed(3) ?? '?'}; savings: routing $${report?.savingsUsd.routing.toFixed(4) ?? '?'}, caching $${report?.savingsUsd.caching.toFixed(4) ?? '?'}. ` +
      `With batches too: ratio ${all.doc.costReport?.ratio.toFixed(3) ?? '?'}, batches saved $${all.doc.costReport?.savingsUsd.batches.toFixed(4) ?? '?'}.`,
    '',
    '| target | measured | |',
    '|---|---|---|',
    `| ≤ 0.35× all-Sonnet with a shared context (routing + caching) | ${ratio(routedCached).toFixed(3)}× | **${ratio(routedCached) <= 0.35 ? 'met' : 'not met'}** |`,
    `| ≤ 0.2× all-Sonnet with batches + caching (and routing) | ${ratio(all).toFixed(3)}× | **${ratio(all) <= 0.2 ? 'met' : 'not met'}** |`,
  );
  return L.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
