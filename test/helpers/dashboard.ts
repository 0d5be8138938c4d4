/** Reads deploy/grafana/renga.json: its panels and the metric names their queries use. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DASHBOARD_FILE = path.resolve(__dirname, '..', '..', 'deploy', 'grafana', 'renga.json');

export interface DashboardPanel {
  title: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
}

export function dashboardPanels(): DashboardPanel[] {
  return (JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: DashboardPanel[] }).panels;
}

/** Metric families a PromQL expression reads (histogram series map to their family). */
export function metricNames(expr: string): string[] {
  const names = [...expr.matchAll(/\b((?:renga|temporal)_[a-z0-9_]+)/g)].map((m) => m[1]!);
  return [...new Set(names.map((n) => n.replace(/_(bucket|count|sum)$/, '')))];
}
