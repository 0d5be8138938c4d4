/**
 * Environment configuration, read once and validated with zod. A bad value fails fast with a
 * message that names the variable. Only the worker reads the API key.
 */
import { z } from 'zod';
import { modelProblem } from './models';
import { RateLimitsSettingSchema } from './rate-limits-setting';
import { parseS3Url } from './blobs/s3-url';
import { ConfigError } from './config-error';
import { resolveTemporal, type TemporalAccess } from './temporal-connection';

export const DEFAULT_PLANNER_MODEL = 'claude-sonnet-4-6';
export const DEFAULT_WORKER_MODEL = 'claude-haiku-4-5';

export { ConfigError };

const address = z
  .string()
  .trim()
  .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. localhost:7233');
const model = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9.\-_:@]*$/i, 'must be a model id such as claude-haiku-4-5');

const ClientEnvSchema = z.object({
  // Resolved with Temporal's environment configuration (shared/temporal-connection.ts): these two,
  // TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE profiles, TEMPORAL_API_KEY, TEMPORAL_TLS_* …
  TEMPORAL_ADDRESS: address.optional(),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).optional(),
  RENGA_TASK_QUEUE: z.string().trim().min(1).default('renga'),
  /** Where the Web UI lives, for printed links. */
  RENGA_UI_URL: z.string().url().default('http://localhost:8233'),
  /** Model ids the SDK's list does not know yet (shared/models.ts), comma-separated. */
  RENGA_EXTRA_MODELS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    ),
  // Payload codecs (shared/codec.ts): clients, workers and the codec server must agree on these.
  /** `id:base64key[,id:base64key…]`; the first encrypts, all decrypt. Unset (and no file): no encryption. */
  RENGA_ENCRYPTION_KEYS: z.string().optional(),
  /** A file with one `id:base64key` per line, e.g. a mounted secret. */
  RENGA_ENCRYPTION_KEYS_FILE: z.string().min(1).optional(),
  /** Payloads larger than RENGA_PAYLOAD_OFFLOAD_BYTES are stored here and referenced from the history. */
  RENGA_PAYLOAD_DIR: z.string().min(1).default('.renga/payloads'),
  RENGA_PAYLOAD_OFFLOAD_BYTES: z.coerce.number().int().min(1024).max(1_900_000).default(131_072),
  // Object storage (shared/blobs/): job context, sharded outputs and offloaded payloads.
  /** Where large job contexts and sharded outputs are kept so they enter the history as a key. */
  RENGA_BLOB_DIR: z.string().min(1).default('.renga/blobs'),
  /** `s3://bucket/prefix`: blobs and payloads go to S3-compatible storage instead of the two directories. */
  RENGA_BLOB_URL: z
    .string()
    .trim()
    .refine((v) => parseS3Url(v) !== null, 'must be s3://bucket or s3://bucket/prefix')
    .optional(),
  /** Server-side encryption for every object written to S3 (passed through as x-amz-server-side-encryption). */
  RENGA_BLOB_SSE: z.enum(['AES256', 'aws:kms', 'aws:kms:dsse']).optional(),
  RENGA_BLOB_SSE_KMS_KEY_ID: z.string().trim().min(1).optional(),
});

const WorkerEnvSchema = ClientEnvSchema.extend({
  ANTHROPIC_API_KEY: z.string().trim().min(1).optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  RENGA_PLANNER_MODEL: model.default(DEFAULT_PLANNER_MODEL),
  RENGA_WORKER_MODEL: model.default(DEFAULT_WORKER_MODEL),
  /** Seconds without a streamed byte before a model call is abandoned as stalled. */
  RENGA_STREAM_IDLE_SECONDS: z.coerce.number().positive().default(30),
  RENGA_MAX_ACTIVITIES: z.coerce.number().int().positive().default(100),
  // Worker tuning (worker/operations.ts).
  RENGA_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(2).default(40),
  /** Per-worker cap on activity (≈ model call) starts per second. */
  RENGA_MAX_ACTIVITIES_PER_SECOND: z.coerce.number().positive().optional(),
  /** Task-queue-wide cap, enforced by the server across every worker on the queue. */
  RENGA_TASK_QUEUE_ACTIVITIES_PER_SECOND: z.coerce.number().positive().optional(),
  /** On SIGTERM, in-flight subtasks get this long to finish before they are handed back. */
  /** Worker Versioning (worker/versioning.ts): set, and this worker is one version of this deployment. */
  RENGA_DEPLOYMENT_NAME: z.string().trim().min(1).max(200).optional(),
  /** The version's build id; default the package version. */
  RENGA_BUILD_ID: z.string().trim().min(1).max(200).optional(),
  RENGA_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).default(30),
  /** host:port for the Prometheus `/metrics` endpoint (renga's and the Temporal runtime's metrics); unset: off. */
  RENGA_METRICS_ADDRESS: address.optional(),
  /**
   * Explicit rate limits per model family (JSON, e.g. {"haiku":{"rpm":50,"itpm":50000,"otpm":10000}}) for an
   * API key shared with other software, or `off` for no admission; unset: learned from the API's headers.
   */
  RENGA_RATE_LIMITS: z
    .string()
    .transform((raw, ctx): unknown => {
      if (raw.trim() === 'off') return 'off';
      try {
        return JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON such as {"haiku":{"rpm":50}} or off` });
        return z.NEVER;
      }
    })
    .pipe(RateLimitsSettingSchema)
    .optional(),
  /** Prompt and answer text on model-call spans (only with tracing on, never with payload encryption). */
  RENGA_OTEL_CAPTURE_CONTENT: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
  RENGA_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  /** How much garbage V8 may hold before it collects (worker/heap.ts): 'lean' keeps RSS down, 'v8' keeps V8's own sizing. */
  RENGA_WORKER_HEAP: z.enum(['lean', 'v8']).default('lean'),
  /** JSON file of MCP servers whose tools sub-agents may use (activities/tools/mcp-config.ts). */
  RENGA_MCP_CONFIG: z.string().min(1).optional(),
  RENGA_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
});

const CodecServerEnvSchema = ClientEnvSchema.extend({
  /** Bearer token the Web UI (or anyone) must present; required. */
  RENGA_CODEC_TOKEN: z.string().trim().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 24)'),
  RENGA_CODEC_HOST: z.string().min(1).default('127.0.0.1'),
  RENGA_CODEC_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  /** The one browser origin allowed to call the codec server: the Web UI's. */
  RENGA_CODEC_CORS_ORIGIN: z.string().url().default('http://localhost:8080'),
});

/** Address and namespace always set (profile, variable or default); `temporal` holds TLS, API key and metadata. */
type WithTemporal<T> = Omit<T, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'> & {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  temporal: TemporalAccess;
};
export type ClientConfig = WithTemporal<z.infer<typeof ClientEnvSchema>>;
export type WorkerConfig = WithTemporal<z.infer<typeof WorkerEnvSchema>>;
export type CodecServerConfig = WithTemporal<z.infer<typeof CodecServerEnvSchema>>;

/** Every variable any renga process reads, for checks that deployment files do not drift from code. */
export const ENV_VARIABLES: readonly string[] = [
  ...new Set([...Object.keys(WorkerEnvSchema.shape), ...Object.keys(CodecServerEnvSchema.shape)]),
];
export const WORKER_ENV_VARIABLES: readonly string[] = Object.keys(WorkerEnvSchema.shape);
export const CODEC_SERVER_ENV_VARIABLES: readonly string[] = Object.keys(CodecServerEnvSchema.shape);

function parseEnv<T extends z.ZodType<{ TEMPORAL_ADDRESS?: string; TEMPORAL_NAMESPACE?: string }>>(
  schema: T,
  env: NodeJS.ProcessEnv,
): WithTemporal<z.infer<T>> {
  // Empty strings mean "unset" in shells and compose files; treat them so.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${lines.join('; ')}`);
  }
  const { address, namespace, ...temporal } = resolveTemporal(cleaned);
  return { ...result.data, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, temporal };
}

export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  return parseEnv(ClientEnvSchema, env);
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const config = parseEnv(WorkerEnvSchema, env);
  for (const name of ['RENGA_PLANNER_MODEL', 'RENGA_WORKER_MODEL'] as const) {
    const problem = modelProblem(config[name], config.RENGA_EXTRA_MODELS);
    if (problem) throw new ConfigError(`invalid environment: ${name}: ${problem}`);
  }
  return config;
}

export function loadCodecServerConfig(env: NodeJS.ProcessEnv = process.env): CodecServerConfig {
  return parseEnv(CodecServerEnvSchema, env);
}
