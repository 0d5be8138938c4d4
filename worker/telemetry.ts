/**
 * The worker's side of tracing and job metrics: activity interceptors (OpenTelemetry spans when
 * tracing is on; the subtask id for model-call spans and log lines always), the workflow interceptor
 * module that must be bundled with the workflow code, and the sinks workflows report through.
 */
import { type Context as ActivityContext } from '@temporalio/activity';
import type * as OtelInterceptorsModule from '@temporalio/interceptors-opentelemetry';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import type { ActivityInterceptorsFactory, InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { z } from 'zod';
import { runInModelCallScope } from '../activities/model-span';
import { recordJobEnded } from '../shared/metrics';
import type { Tracing } from '../shared/telemetry';
import type { RengaMetricsSinks } from '../workflows/job-metrics';
import { operationsInterceptors } from './operations';

/**
 * Bundled into every workflow bundle (worker/bundle.ts, tests, bench): with a prebuilt bundle,
 * Worker.create ignores `interceptors.workflowModules`, so the bundler must get these itself.
 */
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [
  require.resolve('../workflows/payload-interceptors'),
  require.resolve('../workflows/tracing-interceptors'),
  // Renders the Web UI details once per activation (workflows/details-flush.ts).
  require.resolve('../workflows/details-interceptor'),
];

/** Where each model-calling activity's input names its subtask (activities/types.ts, agent-types.ts). */
const SUBTASK_OF: Record<string, z.ZodType<string>> = {
  runSubtask: z.object({ subtask: z.object({ id: z.string() }) }).transform((a) => a.subtask.id),
  agentTurn: z.object({ subtaskId: z.string() }).transform((a) => a.subtaskId),
};

/** Makes the subtask id of a subtask's activity visible to its model calls (activities/model-span.ts). */
export function modelCallScopeInterceptor(ctx: ActivityContext): ReturnType<ActivityInterceptorsFactory> {
  return {
    inbound: {
      execute(input, next) {
        const parsed = SUBTASK_OF[ctx.info.activityType]?.safeParse(input.args[0]);
        return runInModelCallScope({ subtaskId: parsed?.success ? parsed.data : undefined }, () => next(input));
      },
    },
  };
}

/**
 * Temporal's OpenTelemetry interceptors, required only by a traced worker: they bring the tracing SDK's
 * modules, memory an untraced worker would carry for nothing (shared/telemetry.ts).
 */
function otelInterceptors(): typeof OtelInterceptorsModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  return require('@temporalio/interceptors-opentelemetry') as typeof OtelInterceptorsModule;
}

export function workerInterceptors(tracing: Tracing | null): WorkerInterceptors {
  const otel: ActivityInterceptorsFactory[] = [];
  if (tracing) {
    const { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } = otelInterceptors();
    otel.push((ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }));
  }
  return {
    ...operationsInterceptors,
    // The span interceptor runs outside the scope one, so model-call spans are children of the activity's.
    activity: [...(operationsInterceptors.activity ?? []), ...otel, modelCallScopeInterceptor],
  };
}

type RengaSinks = RengaMetricsSinks & { exporter: OpenTelemetryWorkflowExporter };

/**
 * Workflow spans leave through the process's span processor; without tracing the sink drops them
 * (a traced client can start a job that an untraced worker runs). Job ends feed the Prometheus counters.
 */
export function workerSinks(tracing: Tracing | null): InjectedSinks<RengaSinks> {
  return {
    exporter: tracing
      ? otelInterceptors().makeWorkflowExporter(tracing.spanProcessor, tracing.resource)
      : { export: { fn: () => undefined, callDuringReplay: false } },
    rengaMetrics: { jobEnded: { fn: (_info, status, counts) => recordJobEnded(status, counts) } },
  };
}
