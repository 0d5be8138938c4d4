/**
 * Workflow interceptor module (bundled with the workflow code, see worker/telemetry.ts): renders a
 * job's current details once, when an activation concludes, instead of on every change in it
 * (workflows/details-flush.ts). Setting details adds no command, so replay is unaffected.
 */
import type { WorkflowInterceptors } from '@temporalio/workflow';
import { flushDetails, renderDetailsAtActivationEnd } from './details-flush';

export const interceptors = (): WorkflowInterceptors => {
  renderDetailsAtActivationEnd();
  return {
    internals: [
      {
        concludeActivation(input, next) {
          flushDetails();
          return next(input);
        },
      },
    ],
  };
};
