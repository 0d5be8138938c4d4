/**
 * The stack every benchmark run starts: renga's workflow bundle, a Temporal dev server set up as
 * `renga dev` sets one up (renga's search attributes registered, so jobs publish them as users'
 * jobs do), and the Messages API simulator.
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RENGA_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { startSimulator } from '../simulator/server';
import { startDevServer } from '../temporal/dev-server';
import { type Ctx, serverDynamicConfig } from './context';
import { bundleRengaWorkflows } from '../worker/workflow-bundle';

export async function startBenchStack(opts: { metricsPort?: number } = {}): Promise<{
  ctx: Ctx;
  stop(): Promise<void>;
}> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'renga-bench-'));
  // As worker/bundle.ts builds the production bundle: with the workflow interceptor modules.
  const { code } = await bundleRengaWorkflows();
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  const [server, sim] = await Promise.all([
    startDevServer({
      uiPort: null,
      searchAttributes: RENGA_SEARCH_ATTRIBUTES,
      dynamicConfig: serverDynamicConfig(),
      ...(opts.metricsPort ? { metricsPort: opts.metricsPort } : {}),
    }),
    startSimulator({ apiKey: 'sim-key' }),
  ]);
  // Histories of a 10,000-subtask parent pass gRPC's default 4 MiB receive limit (the bench reads them).
  const connection = await Connection.connect({
    address: server.address,
    channelArgs: { 'grpc.max_receive_message_length': 64 * 2 ** 20 },
  });
  const ctx: Ctx = {
    server,
    sim,
    client: new Client({ connection, namespace: server.namespace }),
    bundlePath,
    blobDir: path.join(tmp, 'blobs'),
    workers: [],
  };
  return {
    ctx,
    stop: async () => {
      await Promise.all(ctx.workers.map((w) => w.kill('SIGKILL')));
      await connection.close();
      await Promise.all([server.stop(), sim.close()]);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
