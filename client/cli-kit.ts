/** What every `renga` command shares: exit codes, argument parsers, a connected client. */
import { InvalidArgumentError } from 'commander';
import { loadClientConfig } from '../shared/config';
import { shutdownTracing } from '../shared/telemetry';
import { connect, type RengaClient } from './api';

/** docs/architecture.md, "Exit codes": 0 done, 1 the job failed or was cancelled, 2 bad usage or input, 3 Temporal unreachable. */
export const EXIT = { ok: 0, jobFailed: 1, usage: 2, unreachable: 3 } as const;

/** Bad usage found after parsing (e.g. a combination of options); exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Passed to each command module: how it reports its exit code. */
export interface CommandContext {
  setExit(code: number): void;
}

export function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1)
      throw new InvalidArgumentError(`${flag} takes a whole number ≥ 1, got '${value}'`);
    return Number(value);
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export async function withClient<T>(fn: (rc: RengaClient) => Promise<T>): Promise<T> {
  const rc = await connect(loadClientConfig());
  try {
    return await fn(rc);
  } finally {
    await rc.close();
    // The job's root span is sent before the CLI exits.
    await shutdownTracing();
  }
}
