/**
 * Bench worker processes load TypeScript through tsx, which turns Node's source maps on. With them on,
 * Node inspects every script V8 compiles, and the Temporal SDK compiles a tiny function for every
 * promise a workflow creates (the promise hook behind its stack-trace query): ~2 % of the workflow
 * code's replay CPU here (bench/replay-cpu.ts, RENGA_BENCH_SOURCE_MAPS=1 against 0). A deployed worker
 * runs compiled JavaScript without source maps: once the worker's modules are loaded, the bench turns
 * them off again to measure that, for renga and the naive workflow alike.
 */
export function benchAsDeployed(): void {
  if (process.env.RENGA_BENCH_SOURCE_MAPS !== '1') process.setSourceMapsEnabled(false);
}
