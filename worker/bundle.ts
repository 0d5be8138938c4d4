/** Writes the production workflow bundles (run by `npm run build`), so workers start without webpack. */
import { writeFile } from 'node:fs/promises';
import { FAILURE_CONVERTER_PATH, PRODUCTION_BUNDLE, PRODUCTION_BUNDLE_ENCODED_FAILURES } from './worker';
import { bundleRengaWorkflows } from './workflow-bundle';

async function main(): Promise<void> {
  // Two builds of the same code: the failure converter is bundled in, and only workers with
  // encryption on encode failure messages (shared/failure-converter.ts).
  for (const [file, failureConverterPath] of [
    [PRODUCTION_BUNDLE, undefined],
    [PRODUCTION_BUNDLE_ENCODED_FAILURES, FAILURE_CONVERTER_PATH],
  ] as const) {
    const { code } = await bundleRengaWorkflows(failureConverterPath ? { failureConverterPath } : {});
    await writeFile(file, code);
    console.log(`workflow bundle written to ${file} (${Math.round(code.length / 1024)} KiB)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
