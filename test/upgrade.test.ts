/**
 * Rolling upgrade with Worker Versioning: a long job starts on build v1, a build whose workflow code
 * changed (test/helpers/upgrade/workflows-next.ts) becomes the deployment's current version, and the
 * running job finishes on v1 without a nondeterminism error while new jobs take the new code.
 */
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import { getResult, startJob } from '../client/api';
import { createRengaWorker } from '../worker/worker';
import { deploymentOptions } from '../worker/versioning';
import { progressQuery } from '../workflows/definitions';
import { useStack, waitUntil, workflowBundle } from './helpers/stack';

const stack = useStack({}, { worker: false });

test('a running job stays on its build while new jobs take the next build; no nondeterminism error', async () => {
  const deploymentName = `renga-${stack.taskQueue}`;
  const service = stack.client.workflowService;
  const namespace = stack.server.namespace;
  const running: { worker: Worker; run: Promise<void>; conn: NativeConnection }[] = [];
  const start = async (buildId: string, bundle: Awaited<ReturnType<typeof workflowBundle>>) => {
    const conn = await NativeConnection.connect({ address: stack.server.address });
    const worker = await createRengaWorker({
      connection: conn,
      namespace,
      taskQueue: stack.taskQueue,
      anthropic: { apiKey: 'sim-key', baseURL: stack.sim.url },
      models: { planner: 'claude-sonnet-4-6', worker: 'claude-haiku-4-5' },
      blobDir: `${stack.tmpDir}/blobs`,
      workflowBundle: bundle,
      shutdownGraceTime: '1s',
      deployment: deploymentOptions({ RENGA_DEPLOYMENT_NAME: deploymentName, RENGA_BUILD_ID: buildId }),
    });
    const handle = { worker, run: worker.run(), conn };
    running.push(handle);
    // The version exists once its worker has polled; then it can become current.
    await waitUntil(
      () =>
        service
          .setWorkerDeploymentCurrentVersion({ namespace, deploymentName, buildId, identity: 'upgrade-test' })
          .then(() => true)
          .catch(() => false),
      `build ${buildId} becomes the current version`,
    );
    return handle;
  };
  try {
    const next = await bundleWorkflowCode({
      workflowsPath: require.resolve('./helpers/upgrade/workflows-next'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    });
    stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 800 } });
    await start('v1', await workflowBundle());
    const longJob = await startJob(stack.rc, {
      job: 'Describe ten rivers of Europe',
      maxSubtasks: 10,
      concurrency: 1,
    });
    await waitUntil(async () => {
      const p = await stack.client.workflow.getHandle(longJob).query(progressQuery);
      return p.completed >= 1;
    }, 'the long job has finished a subtask on v1');

    await start('v2', next);
    // The upgrade happened mid-job: the long job is still running on v1 now that v2 is current.
    expect((await stack.client.workflow.getHandle(longJob).query(progressQuery)).status).toBeNull();
    const newJob = await startJob(stack.rc, { job: 'Name two lakes', maxSubtasks: 2, concurrency: 2 });
    const [oldDoc, newDoc] = await Promise.all([getResult(stack.rc, longJob), getResult(stack.rc, newJob)]);
    expect([oldDoc.status, newDoc.status]).toEqual(['completed', 'completed']);

    const EventType = temporal.api.enums.v1.EventType;
    const describe = async (id: string) => {
      const h = stack.client.workflow.getHandle(id);
      const events = (await h.fetchHistory()).events ?? [];
      return {
        memo: (await h.describe()).memo ?? {},
        failedTasks: events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length,
        builds: [
          ...new Set(
            events
              .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
              .map((e) => e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId ?? '?'),
          ),
        ],
      };
    };
    const oldRun = await describe(longJob);
    const newRun = await describe(newJob);
    // The long job ran every workflow task on v1 (pinned) and never failed one; the new job ran the new code.
    expect(oldRun).toEqual({ memo: {}, failedTasks: 0, builds: ['v1'] });
    expect(newRun).toEqual({ memo: { rengaBuild: 'next' }, failedTasks: 0, builds: ['v2'] });
  } finally {
    for (const r of running) r.worker.shutdown();
    await Promise.all(running.map((r) => r.run));
    await Promise.all(running.map((r) => r.conn.close()));
  }
});
