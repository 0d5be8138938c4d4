/**
 * Tracing configuration: only the standard OTEL_* variables turn it on, off costs nothing, and a
 * value renga cannot honour is a usage error (exit 2, one line naming the variable) in the CLI and
 * the worker alike.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../shared/config';
import { loadOtelEnv, startTracing, tracesExporterFor } from '../shared/telemetry';

const REPO = path.resolve(__dirname, '..');

test.each([
  [{}, null],
  [{ OTEL_SERVICE_NAME: 'x' }, null],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'otlp'],
  [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, 'otlp'],
  [{ OTEL_TRACES_EXPORTER: 'console' }, 'console'],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }, null],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }, null],
])('%j → traces exporter %s', (env, expected) => {
  expect(tracesExporterFor(loadOtelEnv(env))).toBe(expected);
});

test('without any OTEL_* variable no SDK is started', () => {
  expect(startTracing('renga-test', {})).toBeNull();
});

test.each([
  ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
  ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/json'],
  ['OTEL_TRACES_EXPORTER', 'zipkin'],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url'],
])('%s=%s is refused naming the variable', (name, value) => {
  expect(() => loadOtelEnv({ [name]: value })).toThrow(ConfigError);
  expect(() => loadOtelEnv({ [name]: value })).toThrow(name);
});

function run(
  entry: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, entry), ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('the CLI and the worker exit 2 with one line for an OTLP protocol renga does not export', async () => {
  const bad = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  // Unreachable on purpose: the variable must be refused before any connection is tried.
  const cli = await run('client/cli.ts', ['status', 'some-job'], { ...bad, TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(cli.code).toBe(2);
  expect(cli.stderr.trim().split('\n')).toHaveLength(1);
  expect(cli.stderr).toContain('OTEL_EXPORTER_OTLP_PROTOCOL');
  const worker = await run('worker/main.ts', [], { ...bad, TEMPORAL_ADDRESS: '127.0.0.1:1', ANTHROPIC_API_KEY: 'k' });
  expect(worker.code).toBe(2);
  expect(worker.stderr).toContain('OTEL_EXPORTER_OTLP_PROTOCOL');
});
