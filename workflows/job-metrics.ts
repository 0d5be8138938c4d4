/**
 * How a job ended, handed to the worker's metrics (shared/metrics.ts) through a sink: workflow code
 * does no I/O, and a sink is not called again when the history is replayed, so each job counts once.
 */
import { proxySinks, type Sinks } from '@temporalio/workflow';

export interface JobEndCounts {
  completed: number;
  failed: number;
  skipped: number;
}

export interface RengaMetricsSinks extends Sinks {
  rengaMetrics: {
    jobEnded(status: string, subtasks: JobEndCounts): void;
  };
}

const { rengaMetrics } = proxySinks<RengaMetricsSinks>();

export function reportJobEnded(status: string, p: { total: number; completed: number; failed: number }): void {
  rengaMetrics.jobEnded(status, {
    completed: p.completed,
    failed: p.failed,
    skipped: Math.max(0, p.total - p.completed - p.failed),
  });
}
