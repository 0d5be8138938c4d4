/**
 * Workflow interceptor module (bundled with the workflow code, see worker/telemetry.ts): the
 * OpenTelemetry workflow interceptors, but only for a run whose start carried a trace context.
 * A client without tracing sends none, so untraced jobs create no spans and call no sink: tracing
 * off costs nothing. The decision comes from the start event's headers, so replay decides the same.
 *
 * The OpenTelemetry modules are required only by a traced run. A reusable V8 context gives every
 * run its own module cache, so a top-level import would evaluate them (~8 ms, bench/profile.ts)
 * at the start of every job, shard and sub-agent run, traced or not.
 */
import type * as OtelWorkflow from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { WorkflowInterceptors } from '@temporalio/workflow';

/**
 * The header the OpenTelemetry client interceptor writes (TRACE_HEADER of
 * @temporalio/interceptors-opentelemetry/lib/instrumentation; test/unit.test.ts checks they agree).
 */
export const TRACE_HEADER = '_tracer-data';

function otel(): typeof OtelWorkflow {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see the module comment
  return require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof OtelWorkflow;
}

export const interceptors = (): WorkflowInterceptors => {
  // Created only for a traced run: each sets up the in-sandbox tracer on first use.
  let inbound: OtelWorkflow.OpenTelemetryInboundInterceptor | undefined;
  let outbound: OtelWorkflow.OpenTelemetryOutboundInterceptor | undefined;
  let internals: OtelWorkflow.OpenTelemetryInternalsInterceptor | undefined;
  const traced = () => outbound !== undefined;
  return {
    inbound: [
      {
        execute(input, next) {
          if (!(TRACE_HEADER in input.headers)) return next(input);
          const lib = otel();
          inbound = new lib.OpenTelemetryInboundInterceptor();
          outbound = new lib.OpenTelemetryOutboundInterceptor();
          internals = new lib.OpenTelemetryInternalsInterceptor();
          return inbound.execute(input, next);
        },
        handleSignal: (input, next) => (inbound ? inbound.handleSignal(input, next) : next(input)),
        handleUpdate: (input, next) => (inbound ? inbound.handleUpdate(input, next) : next(input)),
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => (traced() ? outbound!.scheduleActivity(input, next) : next(input)),
        scheduleLocalActivity: (input, next) => (traced() ? outbound!.scheduleLocalActivity(input, next) : next(input)),
        startChildWorkflowExecution: (input, next) =>
          traced() ? outbound!.startChildWorkflowExecution(input, next) : next(input),
        continueAsNew: (input, next) => (traced() ? outbound!.continueAsNew(input, next) : next(input)),
        signalWorkflow: (input, next) => (traced() ? outbound!.signalWorkflow(input, next) : next(input)),
        getLogAttributes: (input, next) => (traced() ? outbound!.getLogAttributes(input, next) : next(input)),
      },
    ],
    internals: [
      {
        // Disables the run's context manager, which only a traced run sets up.
        dispose: (input, next) => (internals ? internals.dispose(input, next) : next(input)),
      },
    ],
  };
};
