/**
 * A real Prometheus (Debian's `prometheus` package) for tests: its own config and storage in a temp
 * dir, one loopback port, scraping the given targets every second; the HTTP query API reads it back.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { waitUntil } from './stack';

export interface Prometheus {
  url: string;
  /** Instant query; each result is a label set and its value. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  stop(): Promise<void>;
}

export class PrometheusMissingError extends Error {
  override readonly name = 'PrometheusMissingError';
}

export function prometheusBinary(): string {
  const bin = process.env.RENGA_PROMETHEUS_BIN || 'prometheus';
  const probe = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new PrometheusMissingError(
      `${bin} is not runnable: install Debian's prometheus package (.ci/run does) or set RENGA_PROMETHEUS_BIN`,
    );
  }
  return bin;
}

export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const bin = prometheusBinary();
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'renga-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: renga',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${out}`);
      const res = await fetch(`${url}/-/ready`).catch(() => null);
      return res?.ok ?? false;
    }, 'Prometheus is ready');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    query: async (expr) => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`Prometheus query ${expr} failed: ${body.error ?? res.status}`);
      return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
