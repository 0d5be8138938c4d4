/**
 * Environment configuration, read once and validated with zod. A bad value fails fast with a
 * message that names the variable. Only the worker reads the API key.
 */
import { z } from 'zod';

export const DEFAULT_PLANNER_MODEL = 'claude-sonnet-4-6';
export const DEFAULT_WORKER_MODEL = 'claude-haiku-4-5';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const address = z
  .string()
  .trim()
  .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. localhost:7233');
const model = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9.\-_:@]*$/i, 'must be a model id such as claude-haiku-4-5');

const ClientEnvSchema = z.object({
  TEMPORAL_ADDRESS: address.default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  RENGA_TASK_QUEUE: z.string().trim().min(1).default('renga'),
  /** Where the Web UI lives, for printed links. */
  RENGA_UI_URL: z.string().url().default('http://localhost:8233'),
});

const WorkerEnvSchema = ClientEnvSchema.extend({
  ANTHROPIC_API_KEY: z.string().trim().min(1).optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  RENGA_PLANNER_MODEL: model.default(DEFAULT_PLANNER_MODEL),
  RENGA_WORKER_MODEL: model.default(DEFAULT_WORKER_MODEL),
  /** Seconds without a streamed byte before a model call is abandoned as stalled. */
  RENGA_STREAM_IDLE_SECONDS: z.coerce.number().positive().default(30),
  RENGA_MAX_ACTIVITIES: z.coerce.number().int().positive().default(100),
  /** Where large job contexts are kept so they enter the history once, not once per subtask. */
  RENGA_BLOB_DIR: z.string().min(1).default('.renga/blobs'),
});

export type ClientConfig = z.infer<typeof ClientEnvSchema>;
export type WorkerConfig = z.infer<typeof WorkerEnvSchema>;

function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  // Empty strings mean "unset" in shells and compose files; treat them so.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${lines.join('; ')}`);
  }
  return result.data;
}

export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  return parseEnv(ClientEnvSchema, env);
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(WorkerEnvSchema, env);
}
