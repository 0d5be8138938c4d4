// Standalone simulator: `npx tsx simulator/main.ts --port 0 --latency-ms 50 --fault-rate 0.2 --seed 1`
import { z } from 'zod';
import { RateLimitConfigSchema } from './rate-limits';
import { REALISTIC_LATENCY } from './latency';
import { startSimulator } from './server';
import type { FaultConfig, SimulatorOptions } from './types';

const USAGE = `usage: tsx simulator/main.ts [options]
  --port N                  listen port (0 = random, default 0)
  --host H                  listen host (default 127.0.0.1)
  --seed N                  PRNG seed for random faults (default 1)
  --latency-ms SPEC         N, or per model: claude-haiku-4-5=20,*=50
  --stream-chunk-delay-ms N delay between streamed deltas
  --realistic-latency       models answer at about the real services' speeds (Haiku faster than Sonnet)
  --fault-rate P            total rate of retryable faults, split evenly over
                            rateLimit, overloaded, server and reset
  --rate-limit P --overloaded P --server-error P --reset P --stream-error P --stall P
                            individual rates (override --fault-rate)
  --retry-after S           retry-after seconds on injected 429s (default 1)
  --only-models A,B         inject random faults only for these models
  --api-key K               require this key (x-api-key or Authorization: Bearer)
  --models A,B              known models (replaces the default list)
  --array-items N           items per array without min/maxItems (default 3)
  --batch-processing-ms N   a message batch stays in_progress this long (default 0)
  --batch-errored-rate P --batch-expired-rate P
                            share of message batch items that end errored / expired
  --rate-limits JSON        per model family requests / input / output tokens per minute,
                            e.g. '{"haiku":{"rpm":50,"itpm":50000,"otpm":10000}}' (429 + retry-after beyond)
  --rate-limit-burst-seconds S
                            seconds of refill a full bucket holds (default 60)`;

class UsageError extends Error {}

function number(flag: string, raw: string | undefined, { min = -Infinity, max = Infinity } = {}): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(
      `${flag}: expected a number${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got ${raw ?? 'nothing'}`,
    );
  }
  return n;
}

function latency(raw: string | undefined): number | Record<string, number> {
  if (raw !== undefined && raw.includes('=')) {
    const out: Record<string, number> = {};
    for (const pair of raw.split(',')) {
      const [model, ms] = pair.split('=');
      if (!model) throw new UsageError(`--latency-ms: bad entry "${pair}"`);
      out[model.trim()] = number('--latency-ms', ms, { min: 0 });
    }
    return out;
  }
  return number('--latency-ms', raw, { min: 0 });
}

function list(flag: string, raw: string | undefined): string[] {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag}: expected a comma-separated list`);
  return items;
}

export function parseArgs(argv: string[]): SimulatorOptions {
  const opts: SimulatorOptions = {};
  const faults: FaultConfig = {};
  const rates: Partial<Record<'rateLimit' | 'overloaded' | 'server' | 'reset' | 'streamError' | 'stall', number>> = {};
  let total: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    const rate = (): number => number(flag!, value(), { min: 0, max: 1 });
    switch (flag) {
      case '--help':
      case '-h':
        throw new UsageError('');
      case '--port':
        opts.port = number(flag, value(), { min: 0, max: 65535 });
        break;
      case '--host':
        opts.host = value();
        break;
      case '--seed':
        opts.seed = number(flag, value());
        break;
      case '--latency-ms':
        opts.latencyMs = latency(value());
        break;
      case '--realistic-latency':
        opts.latencyMs = { ...REALISTIC_LATENCY.latencyMs };
        opts.streamChunkDelayMs = { ...REALISTIC_LATENCY.streamChunkDelayMs };
        break;
      case '--stream-chunk-delay-ms':
        opts.streamChunkDelayMs = number(flag, value(), { min: 0 });
        break;
      case '--fault-rate':
        total = rate();
        break;
      case '--rate-limit':
        rates.rateLimit = rate();
        break;
      case '--overloaded':
        rates.overloaded = rate();
        break;
      case '--server-error':
        rates.server = rate();
        break;
      case '--reset':
        rates.reset = rate();
        break;
      case '--stream-error':
        rates.streamError = rate();
        break;
      case '--stall':
        rates.stall = rate();
        break;
      case '--retry-after':
        faults.retryAfterSeconds = number(flag, value(), { min: 0 });
        break;
      case '--only-models':
        faults.onlyModels = list(flag, value());
        break;
      case '--api-key':
        opts.apiKey = value();
        break;
      case '--models':
        opts.models = list(flag, value());
        break;
      case '--array-items':
        opts.arrayItems = number(flag, value(), { min: 0 });
        break;
      case '--batch-processing-ms':
        opts.batches = { ...opts.batches, processingMs: number(flag, value(), { min: 0 }) };
        break;
      case '--batch-errored-rate':
        opts.batches = { ...opts.batches, erroredRate: rate() };
        break;
      case '--batch-expired-rate':
        opts.batches = { ...opts.batches, expiredRate: rate() };
        break;
      case '--rate-limits': {
        const raw = value();
        let families: unknown;
        try {
          families = JSON.parse(raw ?? '');
        } catch {
          throw new UsageError(`--rate-limits: expected JSON such as '{"haiku":{"rpm":50}}', got ${raw ?? 'nothing'}`);
        }
        const parsed = RateLimitConfigSchema.shape.families.safeParse(families);
        if (!parsed.success)
          throw new UsageError(`--rate-limits: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
        opts.rateLimits = { ...opts.rateLimits, families: parsed.data };
        break;
      }
      case '--rate-limit-burst-seconds':
        opts.rateLimits = {
          families: opts.rateLimits?.families ?? {},
          burstSeconds: number(flag, value(), { min: 0.001, max: 60 }),
        };
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (total !== undefined) {
    for (const k of ['rateLimit', 'overloaded', 'server', 'reset'] as const) faults[k] = total / 4;
  }
  Object.assign(faults, rates);
  opts.faults = faults;
  return opts;
}

async function main(): Promise<void> {
  let opts: SimulatorOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(err.message);
      console.error(USAGE);
      process.exit(err.message ? 2 : 0);
    }
    throw err;
  }
  const sim = await startSimulator(opts);
  console.log(`simulator listening on ${sim.url}`);
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
