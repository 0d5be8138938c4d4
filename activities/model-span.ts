/**
 * What every model call leaves behind besides its answer: an OpenTelemetry span following the GenAI
 * semantic conventions (when tracing is on), renga's Prometheus counters, and one log line carrying
 * the workflow id, subtask id, attempt, model, tokens and cost. activities/llm.ts wraps each call in
 * observeModelCall(); nothing here changes what the call returns or throws.
 */
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { Context as ActivityContext } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { recordModelCall } from '../shared/metrics';
import type { CallUsage } from '../shared/schemas';
import { activeTracing } from '../shared/telemetry';
import { classifyError } from './errors';

/** The parts of a model call (activities/llm.ts ModelCall) that telemetry reads. */
export interface ObservedCall {
  model: string;
  maxTokens: number;
  system: string | ReadonlyArray<{ type: string; text?: string }>;
  messages: ReadonlyArray<{ role: string; content: string | ReadonlyArray<{ type: string; text?: string }> }>;
}
export interface ObservedAnswer {
  text: string;
  stopReason: string | null;
  call: CallUsage;
}

/** Per-activity facts a model call cannot see in its arguments; set by the worker's activity interceptor. */
export interface ModelCallScope {
  subtaskId?: string;
}
const scope = new AsyncLocalStorage<ModelCallScope>();

export function runInModelCallScope<T>(s: ModelCallScope, fn: () => T): T {
  return scope.run(s, fn);
}

let captureContent = false;
/**
 * Prompt and answer text on spans: opt-in (RENGA_OTEL_CAPTURE_CONTENT) and never with payload
 * encryption on — the worker decides both and calls this once at start.
 */
export function setModelContentCapture(enabled: boolean): void {
  captureContent = enabled;
}

export async function observeModelCall<A extends ObservedAnswer>(
  call: ObservedCall,
  run: () => Promise<A>,
): Promise<A> {
  const tracing = activeTracing();
  if (!tracing) return observed(call, run, undefined);
  return tracing.tracer.startActiveSpan(
    `chat ${call.model}`,
    { kind: SpanKind.CLIENT, attributes: requestAttributes(call) },
    (span) => observed(call, run, span).finally(() => span.end()),
  );
}

async function observed<A extends ObservedAnswer>(
  call: ObservedCall,
  run: () => Promise<A>,
  span: Span | undefined,
): Promise<A> {
  const started = performance.now();
  const log = activityLogger();
  const subtaskId = scope.getStore()?.subtaskId;
  try {
    const answer = await run();
    const seconds = (performance.now() - started) / 1000;
    recordModelCall(call.model, 'ok', seconds, answer.call);
    span?.setAttributes(responseAttributes(answer));
    if (span && captureContent) span.setAttributes(contentAttributes(call, answer));
    const u = answer.call.usage;
    log?.info('model call completed', {
      ...(subtaskId ? { subtaskId } : {}),
      model: answer.call.model,
      requestModel: call.model,
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      cacheReadTokens: u.cacheReadTokens,
      cacheWriteTokens: u.cacheWriteTokens,
      costUsd: answer.call.costUsd,
      stopReason: answer.stopReason,
      durationMs: Math.round(seconds * 1000),
    });
    return answer;
  } catch (err) {
    const seconds = (performance.now() - started) / 1000;
    const outcome = err instanceof CancelledFailure ? 'cancelled' : (classifyError(err, 0).type ?? 'UnexpectedError');
    recordModelCall(call.model, outcome, seconds);
    span?.setAttribute('error.type', outcome);
    span?.recordException(err instanceof Error ? err : String(err));
    span?.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    log?.warn('model call failed', {
      ...(subtaskId ? { subtaskId } : {}),
      model: call.model,
      outcome,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      durationMs: Math.round(seconds * 1000),
    });
    throw err;
  }
}

/** The activity's logger (it adds workflowId, activityId, activityType and attempt); none outside an activity. */
function activityLogger(): ActivityContext['log'] | undefined {
  try {
    return ActivityContext.current().log;
  } catch {
    return undefined;
  }
}

function requestAttributes(call: ObservedCall): Attributes {
  const subtaskId = scope.getStore()?.subtaskId;
  return {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'anthropic',
    'gen_ai.request.model': call.model,
    'gen_ai.request.max_tokens': call.maxTokens,
    ...(subtaskId ? { 'renga.subtask_id': subtaskId } : {}),
  };
}

function responseAttributes(answer: ObservedAnswer): Attributes {
  const u = answer.call.usage;
  return {
    'gen_ai.response.model': answer.call.model,
    ...(answer.stopReason ? { 'gen_ai.response.finish_reasons': [answer.stopReason] } : {}),
    // The conventions count every input token, cached or not, in input_tokens; the cache parts follow.
    'gen_ai.usage.input_tokens': u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens,
    'gen_ai.usage.output_tokens': u.outputTokens,
    'gen_ai.usage.cache_read.input_tokens': u.cacheReadTokens,
    'gen_ai.usage.cache_creation.input_tokens': u.cacheWriteTokens,
    'renga.cost_usd': answer.call.costUsd,
  };
}

type Content = string | ReadonlyArray<{ type: string; text?: string }>;
const parts = (c: Content) =>
  typeof c === 'string'
    ? [{ type: 'text', content: c }]
    : c.filter((b) => b.type === 'text').map((b) => ({ type: 'text', content: b.text ?? '' }));

/** Opt-in content attributes in the conventions' JSON message shapes. */
function contentAttributes(call: ObservedCall, answer: ObservedAnswer): Attributes {
  return {
    'gen_ai.system_instructions': JSON.stringify(parts(call.system)),
    'gen_ai.input.messages': JSON.stringify(call.messages.map((m) => ({ role: m.role, parts: parts(m.content) }))),
    'gen_ai.output.messages': JSON.stringify([
      { role: 'assistant', parts: [{ type: 'text', content: answer.text }], finish_reason: answer.stopReason },
    ]),
  };
}
