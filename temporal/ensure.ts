// CLI: `npx tsx temporal/ensure.ts` prints the Temporal CLI path on stdout (progress goes to stderr),
// so CI can fetch or build the binary in its own step, before tests race for it.
import { ensureTemporalBinary } from './binary';

ensureTemporalBinary()
  .then((bin) => {
    process.stdout.write(`${bin}\n`);
    // The SDK download fallback leaves the native runtime alive, which would keep node running.
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
