/**
 * The naive baseline's worker process: `Worker.create` with default options (as the samples write
 * it), its own workflow bundle, the real Anthropic SDK pointed at the benchmark's simulator.
 * Configured by one JSON argument (NaiveWorkerConfig); prints READY once polling.
 */
import Anthropic from '@anthropic-ai/sdk';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createNaiveActivities } from './activities';
import { benchAsDeployed } from '../source-maps';

export interface NaiveWorkerConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  simUrl: string;
  bundlePath: string;
}

export const NAIVE_READY = 'NAIVE-WORKER-READY';

async function main(): Promise<void> {
  benchAsDeployed();
  const cfg = JSON.parse(process.argv[2] ?? '') as NaiveWorkerConfig;
  const connection = await NativeConnection.connect({ address: cfg.address });
  const worker = await Worker.create({
    connection,
    namespace: cfg.namespace,
    taskQueue: cfg.taskQueue,
    workflowBundle: { codePath: cfg.bundlePath },
    activities: createNaiveActivities(new Anthropic({ apiKey: 'sim-key', baseURL: cfg.simUrl })),
  });
  const running = worker.run();
  console.log(NAIVE_READY);
  await running;
  await connection.close();
}

if (require.main === module) {
  main().catch((err) => {
    console.error('naive worker failed:', err);
    process.exit(1);
  });
}
