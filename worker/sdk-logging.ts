/**
 * The Anthropic SDK's own messages go through renga's logger (JSON in JSON mode), not raw to stderr:
 * its client logger for what it logs itself, and console.warn, which it uses for model deprecation
 * notices, for the rest of the worker process.
 */
import type { ClientOptions } from '@anthropic-ai/sdk';
import type { Logger } from '@temporalio/worker';
import { format } from 'node:util';

type SdkLogger = NonNullable<ClientOptions['logger']>;

export function anthropicLogger(logger: Logger): SdkLogger {
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (message: string, ...rest: unknown[]) =>
      logger[level](format(message, ...rest), { source: 'anthropic-sdk' });
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** Sends console.warn through `logger`; returns a function that restores it. */
export function routeConsoleWarnings(logger: Logger): () => void {
  const original = console.warn;
  console.warn = (...args: unknown[]) => logger.warn(format(...args), { source: 'console' });
  return () => {
    console.warn = original;
  };
}
