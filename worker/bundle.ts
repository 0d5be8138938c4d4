/** Writes the production workflow bundles (run by `npm run build`), so workers start without webpack. */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFile } from 'node:fs/promises';
import { WORKFLOW_INTERCEPTOR_MODULES } from './telemetry';
import { FAILURE_CONVERTER_PATH, PRODUCTION_BUNDLE, PRODUCTION_BUNDLE_ENCODED_FAILURES } from './worker';

const logger = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };

async function main(): Promise<void> {
  // Two builds of the same code: the failure converter is bundled in, and only workers with
  // encryption on encode failure messages (shared/failure-converter.ts).
  for (const [file, failureConverterPath] of [
    [PRODUCTION_BUNDLE, undefined],
    [PRODUCTION_BUNDLE_ENCODED_FAILURES, FAILURE_CONVERTER_PATH],
  ] as const) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      ...(failureConverterPath ? { failureConverterPath } : {}),
      logger,
    });
    await writeFile(file, code);
    console.log(`workflow bundle written to ${file} (${Math.round(code.length / 1024)} KiB)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
