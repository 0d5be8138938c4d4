/**
 * Workflow interceptor module (bundled with the workflow code, see worker/telemetry.ts): the
 * OpenTelemetry workflow interceptors, but only for a run whose start carried a trace context.
 * A client without tracing sends none, so untraced jobs create no spans and call no sink: tracing
 * off costs nothing. The decision comes from the start event's headers, so replay decides the same.
 */
import { TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { WorkflowInterceptors } from '@temporalio/workflow';

export const interceptors = (): WorkflowInterceptors => {
  // Created only for a traced run: each sets up the in-sandbox tracer on first use.
  let inbound: OpenTelemetryInboundInterceptor | undefined;
  let outbound: OpenTelemetryOutboundInterceptor | undefined;
  const traced = () => outbound !== undefined;
  return {
    inbound: [
      {
        execute(input, next) {
          if (!(TRACE_HEADER in input.headers)) return next(input);
          inbound = new OpenTelemetryInboundInterceptor();
          outbound = new OpenTelemetryOutboundInterceptor();
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
    internals: [new OpenTelemetryInternalsInterceptor()],
  };
};
