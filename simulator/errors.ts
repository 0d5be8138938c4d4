// Error bodies and headers shaped like api.anthropic.com, so the SDK picks the same error classes.

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

export interface ApiErrorSpec {
  status: number;
  type: ApiErrorType;
  message: string;
  headers?: Record<string, string>;
}

export interface ApiErrorBody {
  type: 'error';
  error: { type: ApiErrorType; message: string };
  request_id: string;
}

export function errorBody(type: ApiErrorType, message: string, requestId: string): ApiErrorBody {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

export function invalidRequest(message: string): ApiErrorSpec {
  return { status: 400, type: 'invalid_request_error', message };
}

export function notFound(message: string): ApiErrorSpec {
  return { status: 404, type: 'not_found_error', message };
}

export function unauthorized(message = 'invalid x-api-key'): ApiErrorSpec {
  return { status: 401, type: 'authentication_error', message };
}

export function tooLarge(): ApiErrorSpec {
  return { status: 413, type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' };
}

export function overloaded(): ApiErrorSpec {
  return { status: 529, type: 'overloaded_error', message: 'Overloaded', headers: { 'x-should-retry': 'true' } };
}

export function serverError(): ApiErrorSpec {
  return { status: 500, type: 'api_error', message: 'Internal server error', headers: { 'x-should-retry': 'true' } };
}

/** Limits advertised in anthropic-ratelimit-* headers; the numbers only need to be plausible. */
const LIMITS = { requests: 4000, inputTokens: 2_000_000, outputTokens: 400_000 };

/** `exhausted`: the requests limit was hit (an injected 429 names requests per minute); token limits keep room. */
export function rateLimitHeaders(now: Date, exhausted: boolean, resetSeconds: number): Record<string, string> {
  const reset = new Date(now.getTime() + resetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const remaining = (limit: number): string => String(limit - 1);
  return {
    'anthropic-ratelimit-requests-limit': String(LIMITS.requests),
    'anthropic-ratelimit-requests-remaining': exhausted ? '0' : remaining(LIMITS.requests),
    'anthropic-ratelimit-requests-reset': reset,
    'anthropic-ratelimit-input-tokens-limit': String(LIMITS.inputTokens),
    'anthropic-ratelimit-input-tokens-remaining': remaining(LIMITS.inputTokens),
    'anthropic-ratelimit-input-tokens-reset': reset,
    'anthropic-ratelimit-output-tokens-limit': String(LIMITS.outputTokens),
    'anthropic-ratelimit-output-tokens-remaining': remaining(LIMITS.outputTokens),
    'anthropic-ratelimit-output-tokens-reset': reset,
    'anthropic-ratelimit-tokens-limit': String(LIMITS.inputTokens + LIMITS.outputTokens),
    'anthropic-ratelimit-tokens-remaining': remaining(LIMITS.inputTokens + LIMITS.outputTokens),
    'anthropic-ratelimit-tokens-reset': reset,
  };
}

export function rateLimited(now: Date, retryAfterSeconds: number): ApiErrorSpec {
  const seconds = Math.max(0, Math.ceil(retryAfterSeconds));
  return {
    status: 429,
    type: 'rate_limit_error',
    message:
      'This request would exceed the rate limit for your organization of 4,000 requests per minute. ' +
      'For details, refer to: https://docs.claude.com/en/api/rate-limits.',
    headers: {
      'retry-after': String(seconds),
      'x-should-retry': 'true',
      ...rateLimitHeaders(now, true, seconds),
    },
  };
}
