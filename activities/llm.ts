/**
 * One way to call a model: always streamed, so a long answer never hits the SDK's non-streaming
 * limits, and a stalled one is noticed by an idle watchdog (the SDK's timeout only covers the time
 * to response headers).
 */
import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk';
import type {
  ContentBlock,
  JSONOutputFormat,
  MessageParam,
  TextBlockParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import { costUsd } from '../shared/pricing';
import type { CallUsage, TokenUsage } from '../shared/schemas';
import { StreamStalledError } from './errors';
import { startIdleWatchdog } from './idle-watchdog';
import { readMessageStream } from './stream-reader';
import { observeModelCall } from './model-span';

export interface ModelCall {
  model: string;
  system: string | TextBlockParam[];
  messages: MessageParam[];
  maxTokens: number;
  outputFormat?: JSONOutputFormat;
  /** Sub-agent turns: the tools the model may ask for (activities/agent.ts). */
  tools?: Tool[];
  /** Extended thinking budget (tokens); `maxTokens` is the answer's own allowance on top of it. */
  thinkingTokens?: number;
}

export interface ModelAnswer {
  text: string;
  stopReason: string | null;
  call: CallUsage;
  /** Every block of the answer (text and tool_use), for sub-agent conversations. */
  content: ContentBlock[];
  /** The response headers (rate-limit state for admission, activities/admission.ts). */
  headers?: Headers;
}

export interface CallOptions {
  /** Abandon the call when no stream event arrives for this long. */
  idleMs: number;
  /** The activity's cancellation signal: a cancelled subtask stops paying for tokens at once. */
  signal?: AbortSignal;
  /** Extra request headers (activities/attribution.ts: which workflow, activity and attempt). */
  headers?: Record<string, string>;
}

export function toTokenUsage(u: Anthropic.Messages.Usage): TokenUsage {
  return {
    inputTokens: u.input_tokens ?? 0,
    outputTokens: u.output_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
  };
}

/** Every call is observed: a GenAI span when tracing is on, renga's metrics, one log line (model-span.ts). */
export function callModel(client: Anthropic, call: ModelCall, opts: CallOptions): Promise<ModelAnswer> {
  return observeModelCall(call, () => streamModel(client, call, opts));
}

async function streamModel(client: Anthropic, call: ModelCall, opts: CallOptions): Promise<ModelAnswer> {
  const abort = new AbortController();
  const onCancel = () => abort.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onCancel();
  opts.signal?.addEventListener('abort', onCancel, { once: true });

  // The idle watchdog (activities/idle-watchdog.ts): one timer per idle period, not one per chunk of
  // the answer, and a pause of this process is not taken for a stall of the stream.
  let stalled = false;
  const watchdog = startIdleWatchdog(opts.idleMs, () => {
    stalled = true;
    abort.abort();
  });

  try {
    // The SDK sends the request (its typed errors for HTTP failures); the answer's events are read
    // a chunk at a time (activities/stream-reader.ts), each chunk feeding the idle watchdog.
    const response = await client.messages
      .create(
        {
          model: call.model,
          max_tokens: call.maxTokens + (call.thinkingTokens ?? 0),
          system: call.system,
          messages: call.messages,
          stream: true,
          ...(call.outputFormat ? { output_config: { format: call.outputFormat } } : {}),
          ...(call.tools?.length ? { tools: call.tools } : {}),
          ...(call.thinkingTokens ? { thinking: { type: 'enabled', budget_tokens: call.thinkingTokens } } : {}),
        },
        { signal: abort.signal, ...(opts.headers ? { headers: opts.headers } : {}) },
      )
      .asResponse();
    const message = await readMessageStream(response, watchdog.touch);
    const text = message.content
      .filter((b): b is Anthropic.Messages.TextBlock => b.type === 'text')
      .map((b) => b.text)
      .join('');
    const usage = toTokenUsage(message.usage);
    return {
      text,
      stopReason: message.stop_reason,
      content: message.content,
      headers: response.headers,
      call: { model: message.model || call.model, usage, costUsd: costUsd(message.model || call.model, usage) },
    };
  } catch (err) {
    if (stalled) throw new StreamStalledError(opts.idleMs);
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    throw err;
  } finally {
    watchdog.stop();
    opts.signal?.removeEventListener('abort', onCancel);
  }
}

/** The SDK's own retries are off: Temporal owns every retry so the history shows each attempt. */
export function createAnthropicClient(opts: {
  apiKey?: string;
  baseURL?: string;
  /** The SDK's own log lines (warnings, retries) go to renga's logger instead of the console. */
  logger?: ClientOptions['logger'];
}): Anthropic {
  return new Anthropic({
    apiKey: opts.apiKey ?? 'renga-simulator',
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    // One GenAI span per call, renga's (activities/model-span.ts, with cost and subtask id): the SDK's
    // own spans would repeat it, and its ANTHROPIC_OPEN_TELEMETRY_* content mode would bypass renga's
    // rule that prompts never reach traces while payloads are encrypted.
    openTelemetry: { traces: false, propagation: false },
    maxRetries: 0,
    // Bounds only the wait for response headers; the idle watchdog covers the stream body.
    timeout: 60_000,
  });
}
