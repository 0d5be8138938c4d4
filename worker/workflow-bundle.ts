/**
 * How every renga workflow bundle is built: by `npm run build` (worker/bundle.ts), by a worker run
 * from sources, and by the tests and the bench. One definition, so what they run is what ships.
 */
import { bundleWorkflowCode, type BundleOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import path from 'node:path';
import { WORKFLOW_INTERCEPTOR_MODULES } from './telemetry';

type WebpackConfigHook = NonNullable<BundleOptions['webpackConfigHook']>;

/** zod's locales index, in both builds: webpack picks ESM for sources (tests, bench) and CommonJS for dist. */
const ZOD_DIR = path.dirname(require.resolve('zod/package.json'));
const ZOD_LOCALES = ['index.js', 'index.cjs'].map((f) => path.join(ZOD_DIR, 'v4', 'locales', f));

/**
 * The SDK compiles workflow TypeScript for ES2017, so every object spread (`{ ...a, b }`, all over
 * the per-subtask path) becomes calls of swc's `_object_spread` and `_define_property` helpers, ~6 %
 * of a fan-out's workflow-thread CPU (BENCHMARKS.md "Ninth round"). Node 20's V8 runs ES2022 natively.
 */
const WORKFLOW_TARGET = 'es2022';

type WebpackConfig = Parameters<WebpackConfigHook>[0];
type Rule = NonNullable<NonNullable<WebpackConfig['module']>['rules']>[number];
interface SwcUse {
  loader: string;
  options?: { jsc?: Record<string, unknown> };
}

/** The SDK's swc-loader rule, compiling for WORKFLOW_TARGET; every other rule as it is. */
function withTarget(rule: Rule): Rule {
  if (!rule || typeof rule !== 'object' || !rule.use || typeof rule.use !== 'object' || Array.isArray(rule.use))
    return rule;
  const use = rule.use as SwcUse;
  if (!use.loader?.includes('swc-loader')) return rule;
  return {
    ...rule,
    use: { ...use, options: { ...use.options, jsc: { ...use.options?.jsc, target: WORKFLOW_TARGET } } },
  };
}

/**
 * Two cuts, for the worker's memory (BENCHMARKS.md "Seventh round"): every worker keeps the bundle and
 * its source map in its main thread and again in each workflow thread.
 * - No `z.locales`: zod's API re-exports its ~50 locales, 415 KB of code that every run requiring zod
 *   (a batch's, a replay of a job from before `check-job-input-in-activity`) evaluated.
 *   zod's own messages import English directly and still work; workflow code must not switch locale.
 * - A source map without the sources' text: the SDK maps stack traces with its positions, and reads
 *   the text only for `showStackTraceSources`, which renga leaves off (the default).
 */
export const trimWorkflowBundle: WebpackConfigHook = (config) => {
  const alias = config.resolve?.alias;
  return {
    ...config,
    devtool: 'inline-nosources-source-map',
    module: { ...config.module, rules: config.module?.rules?.map(withTarget) },
    resolve: {
      ...config.resolve,
      // `false`: an empty module in its place.
      alias: Array.isArray(alias)
        ? [...alias, ...ZOD_LOCALES.map((name) => ({ name, alias: false as const }))]
        : { ...alias, ...Object.fromEntries(ZOD_LOCALES.map((name) => [name, false as const])) },
    },
  };
};

/** Only the bundler's warnings and errors. */
const QUIET = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

/** renga's workflows with the workflow interceptor modules, as a prebuilt bundle carries them. */
export function bundleRengaWorkflows(
  opts: Pick<BundleOptions, 'failureConverterPath' | 'logger'> = {},
): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    webpackConfigHook: trimWorkflowBundle,
    logger: QUIET,
    ...opts,
  });
}
