/**
 * How much garbage the worker's V8 heaps may hold before they collect (RENGA_WORKER_HEAP).
 *
 * renga's worker allocates ~40 % more per subtask than a samples-style worker (streamed answers, the
 * SDK's headers, payloads, metric labels), and V8 sizes its next collection from how fast the
 * mutator allocates: left alone, the main heap grows to ~160 MiB, mostly garbage, before a full
 * collection, and the worker's peak RSS keeps rising over its first jobs (BENCHMARKS.md, "Seventh
 * round"). 'lean' (the default) lets the old generation grow to 1.5× the live heap after each full
 * collection, and each workflow thread's semi-spaces to 8 MiB; 'v8' keeps V8's own sizing.
 * Measured (`npx tsx bench/worker-memory.ts`, BENCHMARKS.md "Twelfth round"): one worker's peak RSS
 * after three 500-subtask jobs at zero latency, C = 64, was 303–330 MiB against 319–412 MiB with V8's
 * sizing (the naive worker's: 319–363), and 407 against 576–578 MiB over a 10,000-subtask job in the
 * same time; the CPU it adds is within the noise of those runs (a few %). A growing factor of 1.3
 * held the peak a little lower but made the 10,000-subtask job ~12 % slower in two runs of three.
 * A worker whose CPU, not the network, is what limits it can take RENGA_WORKER_HEAP=v8.
 *
 * V8 flags are process-wide and set here at run time (v8.setFlagsFromString), before Worker.create
 * starts the workflow threads: the growing factor is read at every full collection, so it applies to
 * the main thread too; the semi-space ceiling is read when an isolate is created, so it applies to
 * the workflow threads started after this call, not to the main thread (only a node flag at start
 * could cap that).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export type WorkerHeap = 'lean' | 'v8';

const LEAN_HEAP_FLAGS = ['--heap-growing-percent=50', '--max-semi-space-size=8'] as const;
/** The same flags at 0: V8 sizes both itself again. */
const V8_HEAP_FLAGS = ['--heap-growing-percent=0', '--max-semi-space-size=0'] as const;

let collectedOnce = false;

/** Sets the process's heap profile; the last call wins, for every isolate created after it. */
export function applyWorkerHeap(heap: WorkerHeap): void {
  for (const flag of heap === 'lean' ? LEAN_HEAP_FLAGS : V8_HEAP_FLAGS) v8.setFlagsFromString(flag);
  // The growing factor counts from the next full collection on, and the one before it (while the
  // modules loaded) may have set the next at up to 4x the live heap: a worker would fill that with
  // garbage over its first jobs. One full collection now (tens of ms, once a process) sets it from the
  // live heap; later workers of the same process (tests start many) find the limit set already.
  if (heap === 'lean' && !collectedOnce) {
    collectedOnce = true;
    collectGarbage();
  }
}

function collectGarbage(): void {
  // `gc` exists only in contexts created while --expose-gc is set; turned off again at once, so no
  // later context (a workflow sandbox among them) gets it.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  v8.setFlagsFromString('--no-expose-gc');
  gc();
}
