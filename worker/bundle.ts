/** Writes the production workflow bundle (run by `npm run build`), so workers start without webpack. */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFile } from 'node:fs/promises';
import { WORKFLOW_INTERCEPTOR_MODULES } from './telemetry';
import { PRODUCTION_BUNDLE } from './worker';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  await writeFile(PRODUCTION_BUNDLE, code);
  console.log(`workflow bundle written to ${PRODUCTION_BUNDLE} (${Math.round(code.length / 1024)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
