/**
 * Maps everything a model call can throw onto Temporal failures, so that Temporal (not the SDK)
 * decides about every retry and the history shows each attempt with a named cause.
 * The table is docs/architecture.md, "Error classification".
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, failure, type FailureDetails } from '../shared/failures';

// Failure types live in shared/failures.ts (sandbox-safe, also read by workflows); re-exported for activities.
export { FailureType, type FailureDetails };

/** A streamed call that went quiet for longer than the idle limit. */
export class StreamStalledError extends Error {
  override readonly name = 'StreamStalledError';
  constructor(readonly idleMs: number) {
    super(`the model stream sent nothing for ${idleMs} ms`);
  }
}

/** The model answered, but not with what the schema requires (after the repair attempt). */
export class ModelOutputError extends Error {
  override readonly name = 'ModelOutputError';
}

export function retryAfterMs(headers: Headers | undefined): number | null {
  if (!headers) return null;
  const ms = Number(headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers.get('retry-after');
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

const NON_RETRYABLE_BY_STATUS: Record<number, FailureType> = {
  400: FailureType.InvalidRequest,
  401: FailureType.AuthenticationFailed,
  403: FailureType.PermissionDenied,
  404: FailureType.ModelNotFound,
  413: FailureType.RequestTooLarge,
  422: FailureType.InvalidRequest,
};

/**
 * 400 messages of the Messages API that name a part of the request every call of a job sends alike
 * (the model, the output allowance, the shared prompt's size), as opposed to one call's own messages
 * (`messages.0.content…`). Other fields are per call or per subtask.
 */
const REQUEST_WIDE_400 =
  /^(prompt is too long|input length and `?max_tokens`? exceed context limit|max_tokens\b|model\b|system\b|thinking\b|temperature\b)/i;

/** True when a refusal (400/413) would hit every call of the job the same way: it stops the fan-out. */
export function isRequestWide(status: number, apiMessage: string): boolean {
  if (status === 413) return true; // the body's size: the shared context, the same in every call
  return (status === 400 || status === 422) && REQUEST_WIDE_400.test(apiMessage.trim());
}

/**
 * Classify an error thrown while calling a model. Returns an ApplicationFailure to throw from
 * the activity; never includes request headers or keys in the message.
 */
export function classifyError(err: unknown, attempt: number, context: { model?: string } = {}): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const details = (status: number | null, requestId: string | null): FailureDetails => ({ attempt, status, requestId });

  if (err instanceof Anthropic.APIConnectionError) {
    // Includes APIConnectionTimeoutError: resets, refused connections and header timeouts.
    return failure(FailureType.ConnectionError, `connection to the Messages API failed: ${err.message}`, {
      cause: err,
      details: [details(null, null)],
    });
  }
  if (err instanceof Anthropic.APIError) {
    const status = err.status;
    const requestId = err.requestID ?? null;
    const apiMessage = err.apiMessage ?? err.message;
    if (status === undefined) {
      // An SSE `event: error` after HTTP 200 (e.g. overloaded_error mid-stream): the SDK does not
      // retry it, so we must, or a transient overload would fail the subtask.
      return failure(
        FailureType.StreamError,
        `the model stream failed mid-response (${err.type ?? 'error'}): ${apiMessage}`,
        { cause: err, details: [details(null, requestId)] },
      );
    }
    const fatal = NON_RETRYABLE_BY_STATUS[status];
    if (fatal) {
      const what =
        fatal === FailureType.ModelNotFound && context.model ? `unknown model '${context.model}'` : `HTTP ${status}`;
      return failure(fatal, `${what}: ${apiMessage}`, {
        cause: err,
        nonRetryable: true,
        details: [{ ...details(status, requestId), requestWide: isRequestWide(status, apiMessage) }],
      });
    }
    if (status === 429) {
      const delay = retryAfterMs(err.headers);
      return failure(FailureType.RateLimited, `rate limited (HTTP 429): ${apiMessage}`, {
        cause: err,
        details: [details(status, requestId)],
        // Honour the server's retry-after instead of our own backoff for this attempt.
        ...(delay !== null ? { nextRetryDelay: Math.max(1, Math.ceil(delay)) } : {}),
      });
    }
    if (status === 529) {
      return failure(FailureType.Overloaded, `the API is overloaded (HTTP 529): ${apiMessage}`, {
        cause: err,
        details: [details(status, requestId)],
      });
    }
    if (status >= 500 || status === 408 || status === 409) {
      return failure(FailureType.ServerError, `server error (HTTP ${status}): ${apiMessage}`, {
        cause: err,
        details: [details(status, requestId)],
      });
    }
    return failure(FailureType.InvalidRequest, `HTTP ${status}: ${apiMessage}`, {
      cause: err,
      nonRetryable: true,
      details: [details(status, requestId)],
    });
  }
  if (err instanceof StreamStalledError) {
    return failure(FailureType.StreamStalled, err.message, { cause: err, details: [details(null, null)] });
  }
  if (err instanceof ModelOutputError) {
    return failure(FailureType.InvalidModelOutput, err.message, { cause: err, details: [details(null, null)] });
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return failure(FailureType.Unexpected, message, { cause: err, details: [details(null, null)] });
}
