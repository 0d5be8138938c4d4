/**
 * The simulator's control endpoints (`/_sim/...`): health, the request log, configuration and scripted
 * faults, for a simulator driven from another process. Their input is validated like any API's.
 */
import type * as http from 'node:http';
import { z } from 'zod';
import { ScriptedAnswersSchema, type ScriptedAnswer } from './answers';
import { MAX_BODY_BYTES, readBody, sendJson } from './http';
import { RateLimitConfigSchema, type RateLimitConfig } from './rate-limits';
import type { RequestLogEntry, ScriptedFault, SimulatorConfigPatch } from './types';

const rate = z.number().min(0).max(1);
const FaultConfigSchema = z.strictObject({
  rateLimit: rate.optional(),
  overloaded: rate.optional(),
  server: rate.optional(),
  reset: rate.optional(),
  streamError: rate.optional(),
  stall: rate.optional(),
  retryAfterSeconds: z.number().min(0).optional(),
  onlyModels: z.array(z.string()).optional(),
});
const ConfigPatchSchema = z.strictObject({
  latencyMs: z.union([z.number().min(0), z.record(z.string(), z.number().min(0))]).optional(),
  faults: FaultConfigSchema.optional(),
  streamChunkDelayMs: z.union([z.number().min(0), z.record(z.string(), z.number().min(0))]).optional(),
  seed: z.number().int().optional(),
  promptCache: z.boolean().optional(),
  batches: z
    .strictObject({
      processingMs: z.number().min(0).optional(),
      erroredRate: rate.optional(),
      expiredRate: rate.optional(),
      erroredIncludes: z.array(z.string()).optional(),
      expiredIncludes: z.array(z.string()).optional(),
    })
    .optional(),
});
const ScriptedFaultSchema = z.strictObject({
  kind: z.enum([
    'rateLimit',
    'overloaded',
    'server',
    'reset',
    'streamError',
    'stall',
    'badRequest',
    'promptTooLong',
    'unauthorized',
    'notFound',
    'tooLarge',
  ]),
  match: z
    .strictObject({
      model: z.string().optional(),
      textIncludes: z.string().optional(),
      workflowId: z.string().optional(),
    })
    .optional(),
  times: z.number().int().positive().optional(),
  retryAfterSeconds: z.number().min(0).optional(),
});
const ScriptSchema = z.union([z.array(ScriptedFaultSchema), ScriptedFaultSchema]);

/** What the control endpoints read and change on the running simulator. */
export interface ControlTarget {
  readonly url: string;
  readonly models: ReadonlySet<string>;
  readonly log: RequestLogEntry[];
  requests(): number;
  pendingScripted(): number;
  currentConfig(): unknown;
  clearLog(): void;
  configure(patch: SimulatorConfigPatch): void;
  script(...faults: ScriptedFault[]): void;
  clearScript(): void;
  /** Scripted answer shapes (simulator/answers.ts). */
  scriptAnswers(answers: ScriptedAnswer[]): void;
  clearAnswers(): void;
  pendingAnswers(): number;
  clearCache(): void;
  /** Requests being served now, with the job and subtask they are for. */
  inFlight(): unknown;
  /** The rate-limit configuration and what each model family has used. */
  rateLimits(): { config: unknown; accounting: unknown };
  setRateLimits(config: RateLimitConfig): void;
}

export async function handleControl(
  sim: ControlTarget,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body.kind !== 'ok') {
    if (body.kind === 'tooLarge') sendJson(res, 413, { error: 'body too large' });
    return;
  }
  /** The JSON body validated against a schema; answers 400 itself and returns null when it is not. */
  const parseBody = <T>(schema: z.ZodType<T>): T | null => {
    let raw: unknown;
    try {
      raw = JSON.parse(body.buf.toString('utf8'));
    } catch {
      sendJson(res, 400, { error: 'body is not valid JSON' });
      return null;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      sendJson(res, 400, { error: z.prettifyError(parsed.error) });
      return null;
    }
    return parsed.data;
  };

  if (path === '/_sim/health' && method === 'GET') {
    sendJson(res, 200, {
      ok: true,
      url: sim.url,
      models: [...sim.models],
      requests: sim.requests(),
      pendingScripted: sim.pendingScripted(),
      config: sim.currentConfig(),
    });
    return;
  }
  if (path === '/_sim/inflight' && method === 'GET') {
    sendJson(res, 200, sim.inFlight());
    return;
  }
  if (path === '/_sim/log' && method === 'GET') {
    sendJson(res, 200, sim.log);
    return;
  }
  if (path === '/_sim/log' && method === 'DELETE') {
    const cleared = sim.log.length;
    sim.clearLog();
    sendJson(res, 200, { ok: true, cleared });
    return;
  }
  if (path === '/_sim/config' && method === 'POST') {
    const patch = parseBody(ConfigPatchSchema);
    if (patch === null) return;
    sim.configure(patch);
    sendJson(res, 200, { ok: true, config: sim.currentConfig() });
    return;
  }
  if (path === '/_sim/script' && method === 'POST') {
    const script = parseBody(ScriptSchema);
    if (script === null) return;
    const faults = Array.isArray(script) ? script : [script];
    sim.script(...faults);
    sendJson(res, 200, { ok: true, queued: faults.length, pendingScripted: sim.pendingScripted() });
    return;
  }
  if (path === '/_sim/rate-limits' && method === 'GET') {
    sendJson(res, 200, sim.rateLimits());
    return;
  }
  if (path === '/_sim/rate-limits' && method === 'POST') {
    const config = parseBody(RateLimitConfigSchema);
    if (config === null) return;
    sim.setRateLimits(config);
    sendJson(res, 200, { ok: true, config, accounting: sim.rateLimits().accounting });
    return;
  }
  if (path === '/_sim/answers' && method === 'POST') {
    const answers = parseBody(ScriptedAnswersSchema);
    if (answers === null) return;
    sim.scriptAnswers(Array.isArray(answers) ? answers : [answers]);
    sendJson(res, 200, { ok: true, pending: sim.pendingAnswers() });
    return;
  }
  if (path === '/_sim/answers' && method === 'DELETE') {
    sim.clearAnswers();
    sendJson(res, 200, { ok: true });
    return;
  }
  if (path === '/_sim/cache' && method === 'DELETE') {
    sim.clearCache();
    sendJson(res, 200, { ok: true });
    return;
  }
  if (path === '/_sim/script' && method === 'DELETE') {
    sim.clearScript();
    sendJson(res, 200, { ok: true });
    return;
  }
  sendJson(res, 404, { error: `no control endpoint ${method} ${path}` });
}
