/**
 * A real Jaeger v2 (all-in-one, in-memory storage) for tests: OTLP/HTTP in and the query API out,
 * each on its own free loopback port, with its own telemetry off so it opens no other port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { ensureJaegerBinary } from '../../tools/jaeger';
import { waitUntil } from './stack';

export interface Jaeger {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP). */
  otlpEndpoint: string;
  /** Base URL of the query service (/api/traces, /api/services). */
  queryUrl: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startJaeger(): Promise<Jaeger> {
  const bin = await ensureJaegerBinary();
  const [otlpPort, queryPort, queryGrpcPort] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'renga-jaeger-'));
  const config = path.join(dir, 'jaeger.yaml');
  writeFileSync(
    config,
    `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${queryPort}
    grpc:
      endpoint: 127.0.0.1:${queryGrpcPort}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`,
  );
  const child = spawn(bin, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const queryUrl = `http://127.0.0.1:${queryPort}`;
  try {
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error(`jaeger exited with ${child.exitCode}:\n${out}`);
      const res = await fetch(`${queryUrl}/api/services`).catch(() => null);
      return res?.ok ?? false;
    }, 'Jaeger answers on its query port');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    otlpEndpoint: `http://127.0.0.1:${otlpPort}`,
    queryUrl,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** Traces of `service` that have a span tagged `key=value` (Jaeger's JSON query API). */
export async function findTraces(jaeger: Jaeger, service: string, key: string, value: string): Promise<JaegerTrace[]> {
  const url = new URL('/api/traces', jaeger.queryUrl);
  url.searchParams.set('service', service);
  url.searchParams.set('tags', JSON.stringify({ [key]: value }));
  url.searchParams.set('lookback', '1h');
  url.searchParams.set('limit', '20');
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Jaeger ${url.pathname} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { data: JaegerTrace[] | null };
  return body.data ?? [];
}

export async function getTrace(jaeger: Jaeger, traceId: string): Promise<JaegerTrace | null> {
  const res = await fetch(new URL(`/api/traces/${traceId}`, jaeger.queryUrl));
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`Jaeger /api/traces/${traceId} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { data: JaegerTrace[] | null };
  return body.data?.[0] ?? null;
}

export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}
