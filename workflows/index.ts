/** Everything the worker registers as workflows; bundled on its own, so it imports no Node APIs. */
export { jobWorkflow } from './job';
export { batchWorkflow } from './batch';
export { shardWorkflow } from './shard';
export { rateLimiterWorkflow } from './rate-limiter';
export { subagentWorkflow } from './subagent';
