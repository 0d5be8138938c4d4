/**
 * The Grafana dashboard against the code: every panel queries the compose Prometheus data source,
 * and every metric it names is one renga exports (shared/metrics.ts) or one the Temporal runtime
 * exports on the same endpoint. test/observability.test.ts also finds each of them in a real scrape.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RENGA_METRIC_NAMES } from '../shared/metrics';
import { dashboardPanels, metricNames } from './helpers/dashboard';

/** The Temporal TypeScript SDK's core metrics the dashboard may use (Prometheus names, durations in ms). */
const TEMPORAL_SDK_METRICS = [
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_workflow_task_execution_latency',
  'temporal_workflow_task_replay_latency',
  'temporal_workflow_endtoend_latency',
  'temporal_workflow_completed',
  'temporal_activity_schedule_to_start_latency',
  'temporal_activity_execution_latency',
  'temporal_activity_task_received',
  'temporal_worker_task_slots_available',
  'temporal_worker_task_slots_used',
  'temporal_request',
  'temporal_request_latency',
];

const REPO = path.resolve(__dirname, '..');
const panels = dashboardPanels();

test('every panel has a query, against the provisioned Prometheus data source', () => {
  const provisioning = readFileSync(
    path.join(REPO, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
    'utf8',
  );
  const uid = /^\s+uid: (\S+)$/m.exec(provisioning)?.[1];
  expect(uid).toBeDefined();
  expect(panels.length).toBeGreaterThan(0);
  for (const p of panels) {
    expect({ panel: p.title, uid: p.datasource?.uid }).toEqual({ panel: p.title, uid });
    expect(p.targets?.length).toBeGreaterThan(0);
    for (const t of p.targets ?? []) {
      expect(t.datasource?.uid).toBe(uid);
      expect({ panel: p.title, metrics: metricNames(t.expr ?? '').length > 0 }).toEqual({
        panel: p.title,
        metrics: true,
      });
    }
  }
});

test('every metric a panel queries is one renga or the Temporal SDK exports, and every renga metric is charted', () => {
  const known = new Set([...RENGA_METRIC_NAMES, ...TEMPORAL_SDK_METRICS]);
  const used = panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr ?? '')));
  expect([...new Set(used)].filter((m) => !known.has(m))).toEqual([]);
  expect(RENGA_METRIC_NAMES.filter((m) => !used.includes(m))).toEqual([]);
  // Rate-limit panel and Temporal task latency, as the issue asks.
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  expect(exprs.some((e) => e.includes('outcome="RateLimited"'))).toBe(true);
  expect(exprs.some((e) => /histogram_quantile\(0\.95, .*renga_model_call_seconds_bucket/.test(e))).toBe(true);
  expect(used.some((m) => m.startsWith('temporal_workflow_task_'))).toBe(true);
});

test('compose mounts the dashboard and its provisioning into Grafana, and Prometheus scrapes the workers', () => {
  const compose = readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8');
  expect(compose).toContain('./deploy/grafana/renga.json:/var/lib/grafana/dashboards/renga.json');
  expect(compose).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning');
  expect(compose).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml');
  const prom = readFileSync(path.join(REPO, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8');
  expect(prom).toMatch(/names: \['worker'\]/);
  expect(prom).toMatch(/port: 9464/);
  expect(compose).toMatch(/RENGA_METRICS_ADDRESS: 0\.0\.0\.0:9464/);
});
