/** Benchmark sections and the quick and full profiles (how many jobs of what size each section runs). */

export const PLANNER = 'claude-sonnet-4-6';
export const WORKER = 'claude-haiku-4-5';

export type Section =
  'overhead' | 'throughput' | 'scale' | 'recovery' | 'cost' | 'ratelimit' | 'subagent' | 'features' | 'queueahead';
export const SECTIONS: Section[] = [
  'overhead',
  'throughput',
  'scale',
  'recovery',
  'cost',
  'ratelimit',
  'subagent',
  'features',
  'queueahead',
];

export interface Profile {
  name: 'quick' | 'full';
  /**
   * Jobs of each N in `ns` at `latencyMs`, plus one cell at a short latency (`short`), where the
   * orchestration's own per-step cost is most of the makespan (issue 14: ≤ 2× the in-process run).
   */
  overhead: {
    ns: number[];
    latencyMs: number;
    concurrency: number;
    runs: number;
    short: { n: number; latencyMs: number; runs: number };
  };
  throughput: { subtasks: number; configs: { workers: number; concurrency: number }[]; runs: number };
  scale: { subtasks: number; concurrency: number; runs: number };
  /** heartbeatSeconds: absent, renga's default (what the recovery target is about). */
  recovery: { subtasks: number; concurrency: number; latencyMs: number; heartbeatSeconds?: number; runs: number };
  /** Sub-agents with `toolTurns` tool calls each (so toolTurns + 1 model turns), `agents` of them in parallel. */
  subagent: { latencyMs: number; toolTurns: number; agents: number; runs: number };
  /** One job of N subtasks at latency L and concurrency C per variant and run (bench/features.ts). */
  features: { n: number; latencyMs: number; concurrency: number; runs: number };
  /** Jobs with `queueAhead` on and off, alternated, one cell each (bench/queue-ahead.ts). */
  queueAhead: { cells: { n: number; latencyMs: number; concurrency: number; runs: number }[] };
}

export const PROFILES: Record<'quick' | 'full', Profile> = {
  quick: {
    name: 'quick',
    overhead: { ns: [10, 100], latencyMs: 1000, concurrency: 16, runs: 3, short: { n: 100, latencyMs: 50, runs: 3 } },
    throughput: {
      subtasks: 400,
      configs: [
        { workers: 1, concurrency: 64 },
        { workers: 2, concurrency: 64 },
      ],
      runs: 2,
    },
    scale: { subtasks: 2_000, concurrency: 100, runs: 1 },
    recovery: { subtasks: 32, concurrency: 8, latencyMs: 1000, runs: 1 },
    subagent: { latencyMs: 1000, toolTurns: 4, agents: 4, runs: 1 },
    features: { n: 100, latencyMs: 50, concurrency: 16, runs: 3 },
    queueAhead: {
      cells: [
        { n: 100, latencyMs: 1000, concurrency: 16, runs: 2 },
        { n: 100, latencyMs: 50, concurrency: 16, runs: 3 },
        { n: 400, latencyMs: 0, concurrency: 64, runs: 2 },
      ],
    },
  },
  full: {
    name: 'full',
    overhead: {
      ns: [10, 100, 1000],
      latencyMs: 1000,
      concurrency: 16,
      runs: 3,
      short: { n: 100, latencyMs: 50, runs: 7 },
    },
    throughput: {
      subtasks: 500,
      configs: [
        { workers: 1, concurrency: 16 },
        { workers: 1, concurrency: 64 },
        { workers: 1, concurrency: 200 },
        { workers: 2, concurrency: 64 },
        { workers: 2, concurrency: 200 },
      ],
      runs: 3,
    },
    scale: { subtasks: 10_000, concurrency: 100, runs: 1 },
    recovery: { subtasks: 48, concurrency: 8, latencyMs: 1000, runs: 3 },
    subagent: { latencyMs: 1000, toolTurns: 9, agents: 8, runs: 3 },
    features: { n: 100, latencyMs: 50, concurrency: 16, runs: 41 },
    queueAhead: {
      cells: [
        { n: 100, latencyMs: 1000, concurrency: 16, runs: 3 },
        { n: 1000, latencyMs: 1000, concurrency: 16, runs: 1 },
        { n: 100, latencyMs: 50, concurrency: 16, runs: 7 },
        { n: 500, latencyMs: 0, concurrency: 64, runs: 3 },
      ],
    },
  },
};
