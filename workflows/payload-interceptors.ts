/**
 * Workflow interceptor module (bundled with the workflow code, see worker/telemetry.ts): a run whose
 * input holds a payload the worker could never read (shared/undecodable.ts: a crafted claim-check
 * reference) fails with that failure's named type, instead of its workflow task failing and being
 * retried forever. A signal carrying one is dropped; an update carrying one is rejected.
 */
import { log, type WorkflowInterceptors } from '@temporalio/workflow';
import { failure } from '../shared/failures';
import { undecodableIn } from '../shared/undecodable';

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [
    {
      // Async, so the failure rejects the run's promise (failing the run) rather than the activation.
      async execute(input, next) {
        const bad = undecodableIn(input.args);
        if (bad) throw failure(bad.type, bad.message, { nonRetryable: true });
        return next(input);
      },
      async handleSignal(input, next) {
        const bad = undecodableIn(input.args);
        if (!bad) return next(input);
        log.warn(`signal ${input.signalName} dropped: ${bad.type}: ${bad.message}`);
      },
      validateUpdate(input, next) {
        const bad = undecodableIn(input.args);
        if (bad) throw failure(bad.type, bad.message, { nonRetryable: true });
        next(input);
      },
    },
  ],
});
