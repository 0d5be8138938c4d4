/**
 * The Web UI's "current details" of a job, rendered at most once per workflow activation instead of
 * on every change: a zero-latency fan-out records dozens of changes per activation, and rendering
 * the Markdown plan table each time was most of the workflow thread's CPU (bench/profile.ts).
 *
 * Module state is per workflow run (the SDK gives each run its own module cache). The renderer runs
 * from the details interceptor's `concludeActivation` (workflows/details-interceptor.ts); in a
 * bundle built without that interceptor module, details are rendered on every change, as before.
 */
import { setCurrentDetails } from '@temporalio/workflow';

let pending: (() => string) | null = null;
let flushedAtActivationEnd = false;

/** The details changed; `render` builds them (now, or at the end of this activation). */
export function detailsChanged(render: () => string): void {
  if (!flushedAtActivationEnd) {
    setCurrentDetails(render());
    return;
  }
  pending = render;
}

/** Called by the interceptor at the end of every activation: renders what changed during it. */
export function flushDetails(): void {
  const render = pending;
  pending = null;
  if (render) setCurrentDetails(render());
}

/** Called once per run by the interceptor factory: from now on details wait for the activation's end. */
export function renderDetailsAtActivationEnd(): void {
  flushedAtActivationEnd = true;
}
