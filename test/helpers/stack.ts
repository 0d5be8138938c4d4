/**
 * A real stack for tests: the pinned Temporal dev server, the Messages API simulator, and renga
 * workers (in-process or as child processes), all on random local ports and torn down afterwards.
 */
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  type Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer, type DevServer, type DevServerOptions } from '../../temporal/dev-server';
import { startSimulator } from '../../simulator/server';
import type { Simulator, SimulatorOptions } from '../../simulator/types';
import { createRengaWorker } from '../../worker/worker';
import { spawnUntilReady } from '../../shared/spawn-ready';
import { bundleRengaWorkflows } from '../../worker/workflow-bundle';
import { RENGA_SEARCH_ATTRIBUTES } from '../../shared/search-attributes';
import { loadClientConfig } from '../../shared/config';
import type { RengaClient } from '../../client/api';
import type { ToolRegistry } from '../../activities/tools/registry';

export const REPO = path.resolve(__dirname, '..', '..');

// Kept apart so tests that need no Temporal (the simulator's own) can wait without loading the SDK runtime.
export { waitUntil } from './wait';

// Worker state chatter at INFO drowns test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundled once per test file (jest isolates modules per file). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleRengaWorkflows({
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  return bundle;
}

export interface InProcessWorker {
  worker: Worker;
  stop(): Promise<void>;
}

export interface ChildWorker {
  child: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface TestStack {
  server: DevServer;
  sim: Simulator;
  client: Client;
  /** The typed renga API bound to this stack's server and task queue. */
  rc: RengaClient;
  taskQueue: string;
  tmpDir: string;
  /**
   * `tools`: the sub-agent tools this worker offers (default: the built-in TypeScript tools).
   * `reclaimOnStart: false`: behave like a worker on another host, which cannot reclaim a dead one's calls.
   */
  startWorker(opts?: { tools?: ToolRegistry; reclaimOnStart?: boolean }): Promise<InProcessWorker>;
  spawnWorker(extraEnv?: Record<string, string>): Promise<ChildWorker>;
  close(): Promise<void>;
}

let queueSeq = 0;

export async function startStack(opts: { sim?: SimulatorOptions; server?: DevServerOptions } = {}): Promise<TestStack> {
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'renga-test-'));
  const [server, sim] = await Promise.all([
    startDevServer({ uiPort: null, searchAttributes: RENGA_SEARCH_ATTRIBUTES, ...opts.server }),
    startSimulator({ apiKey: 'sim-key', ...opts.sim }),
  ]);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const taskQueue = `renga-test-${process.pid}-${++queueSeq}`;
  const blobDir = path.join(tmpDir, 'blobs');
  const workers: InProcessWorker[] = [];
  const children: ChildWorker[] = [];

  const startWorker = async (
    opts: { tools?: ToolRegistry; reclaimOnStart?: boolean } = {},
  ): Promise<InProcessWorker> => {
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await createRengaWorker({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue,
      anthropic: { apiKey: 'sim-key', baseURL: sim.url },
      models: { planner: 'claude-sonnet-4-6', worker: 'claude-haiku-4-5' },
      blobDir,
      streamIdleMs: 10_000,
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '1s',
      tools: opts.tools,
      reclaimOnStart: opts.reclaimOnStart,
    });
    const running = worker.run();
    let stopped = false;
    const handle: InProcessWorker = {
      worker,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        worker.shutdown();
        await running;
        await nativeConnection.close();
      },
    };
    workers.push(handle);
    return handle;
  };

  const spawnWorker = async (extraEnv: Record<string, string> = {}): Promise<ChildWorker> => {
    const handle: ChildWorker = await spawnUntilReady(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, 'worker', 'main.ts')],
      {
        cwd: REPO,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? os.tmpdir(),
          TEMPORAL_ADDRESS: server.address,
          TEMPORAL_NAMESPACE: server.namespace,
          RENGA_TASK_QUEUE: taskQueue,
          ANTHROPIC_API_KEY: 'sim-key',
          ANTHROPIC_BASE_URL: sim.url,
          RENGA_BLOB_DIR: blobDir,
          RENGA_STREAM_IDLE_SECONDS: '10',
          ...extraEnv,
        },
        ready: 'renga worker on ',
        what: 'worker',
      },
    );
    children.push(handle);
    return handle;
  };

  const rc: RengaClient = {
    client,
    config: {
      ...loadClientConfig({}),
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      RENGA_TASK_QUEUE: taskQueue,
    },
    // The stack owns the connection and closes it in close().
    close: async () => undefined,
  };

  return {
    server,
    sim,
    client,
    rc,
    taskQueue,
    tmpDir,
    startWorker,
    spawnWorker,
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(children.map((c) => c.kill('SIGKILL')));
      await connection.close();
      await Promise.all([server.stop(), sim.close()]);
      rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `renga` CLI as a user would (a real process) against a test stack. */
export function runCli(stack: TestStack, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'client', 'cli.ts'), ...args], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? os.tmpdir(),
        TEMPORAL_ADDRESS: stack.server.address,
        RENGA_TASK_QUEUE: stack.taskQueue,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * One stack per test file: started before its tests (with one in-process worker unless
 * `worker: false`), closed after. The returned object is filled in by beforeAll.
 */
export function useStack(opts: Parameters<typeof startStack>[0] = {}, { worker = true } = {}): TestStack {
  const holder = {} as TestStack;
  beforeAll(async () => {
    Object.assign(holder, await startStack(opts));
    if (worker) await holder.startWorker();
  });
  afterAll(async () => {
    await holder.close?.();
  });
  return holder;
}

/** Subtask id a simulator request was for, read from the prompt renga sends. */
export function subtaskIdOf(lastUserText: string): string | null {
  return /^Subtask (s\d+) of \d+:/m.exec(lastUserText)?.[1] ?? null;
}
