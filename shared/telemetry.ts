/**
 * OpenTelemetry tracing for every renga process, configured only by the standard OTEL_* variables.
 * Off (nothing started, nothing exported) unless an OTLP endpoint or a traces exporter is named;
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turns it off again.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import type * as OtlpExporterModule from '@opentelemetry/exporter-trace-otlp-proto';
import type * as ResourcesModule from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import type * as NodeSdkModule from '@opentelemetry/sdk-node';
import type * as TraceBaseModule from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { ConfigError } from './config';

/** The instrumentation scope of renga's own spans (model calls). */
export const TRACER_NAME = 'renga';

const flag = z
  .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'])
  .transform((v) => v.toLowerCase() === 'true')
  .optional();
const protocol = z
  .literal('http/protobuf', { message: 'renga exports traces over OTLP http/protobuf only' })
  .optional();

const OtelEnvSchema = z.object({
  OTEL_SDK_DISABLED: flag,
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none'], { message: 'must be otlp, console or none' }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
  OTEL_SERVICE_NAME: z.string().trim().min(1).optional(),
});
export type OtelEnv = z.infer<typeof OtelEnvSchema>;

export interface Tracing {
  tracer: Tracer;
  /** Also handed to the workflow span sink, so workflow spans leave through the same batcher. */
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Flushes pending spans; call before the process exits. */
  shutdown(): Promise<void>;
}

/** Validates the OTEL_* variables; a bad value is a ConfigError naming the variable. */
export function loadOtelEnv(env: NodeJS.ProcessEnv = process.env): OtelEnv {
  const cleaned = Object.fromEntries(Object.keys(OtelEnvSchema.shape).flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
  const parsed = OtelEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${lines.join('; ')}`);
  }
  return parsed.data;
}

/** Which exporter the environment asks for, or null when tracing is off. */
export function tracesExporterFor(env: OtelEnv): 'otlp' | 'console' | null {
  if (env.OTEL_SDK_DISABLED) return null;
  if (env.OTEL_TRACES_EXPORTER === 'none') return null;
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER;
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'otlp' : null;
}

let current: Tracing | null | undefined;

/**
 * Starts the Node SDK once per process (later calls return the same instance), or returns null
 * when the environment does not ask for traces. `defaultServiceName` applies without OTEL_SERVICE_NAME.
 */
export function startTracing(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | null {
  if (current !== undefined) return current;
  const otel = loadOtelEnv(env);
  const kind = tracesExporterFor(otel);
  if (!kind) return (current = null);
  // Required only when tracing is on: the SDK and its exporter are ~25 MiB of every process's memory
  // (BENCHMARKS.md "Seventh round"), and most workers and CLI calls trace nothing.
  /* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof OtlpExporterModule;
  const { Resource, envDetectorSync } = require('@opentelemetry/resources') as typeof ResourcesModule;
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof NodeSdkModule;
  const { BatchSpanProcessor, ConsoleSpanExporter } =
    require('@opentelemetry/sdk-trace-base') as typeof TraceBaseModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT and _COMPRESSION itself.
  const exporter = kind === 'otlp' ? new OTLPTraceExporter() : new ConsoleSpanExporter();
  // OTEL_BSP_* (delay, queue and batch sizes) are read by the processor.
  const spanProcessor = new BatchSpanProcessor(exporter);
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the default name.
  const resource = new Resource({ 'service.name': defaultServiceName }).merge(envDetectorSync.detect());
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors: [spanProcessor],
    // Only traces: logs and metrics have their own paths (renga's logger, the Prometheus endpoint).
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  current = {
    tracer: trace.getTracer(TRACER_NAME),
    spanProcessor,
    resource,
    shutdown: () => sdk.shutdown(),
  };
  return current;
}

/** The process's tracing, if started: model-call spans are only made when it is. */
export function activeTracing(): Tracing | null {
  return current ?? null;
}

/** Flushes and stops tracing if it was started; safe to call more than once. */
export async function shutdownTracing(): Promise<void> {
  const t = current;
  current = undefined;
  await t?.shutdown();
}
