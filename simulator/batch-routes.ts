/**
 * The HTTP side of the Message Batches endpoints (`/v1/messages/batches…`): the same authentication
 * and version checks as the Messages endpoint, then the batch store (batches.ts) answers.
 */
import type * as http from 'node:http';
import { invalidRequest, unauthorized, type ApiErrorSpec } from './errors';
import { sendJsonl, type MessageBatchStore } from './batches';
import { presentedKey, sendJson } from './http';

export type RoutedBatchRequest =
  | { kind: 'error'; error: ApiErrorSpec }
  | { kind: 'ok'; send(res: http.ServerResponse, headers: Record<string, string>): void };

export function routeBatchRequest(
  store: MessageBatchStore,
  apiKey: string | undefined,
  req: http.IncomingMessage,
  path: string,
  body: Buffer,
  workflowId: string | null,
): RoutedBatchRequest {
  const error = (spec: ApiErrorSpec): RoutedBatchRequest => ({ kind: 'error', error: spec });
  if (apiKey !== undefined) {
    const key = presentedKey(req);
    if (key === undefined) return error(unauthorized('x-api-key header is required'));
    if (key !== apiKey) return error(unauthorized());
  }
  if (req.headers['anthropic-version'] === undefined) {
    return error(invalidRequest('anthropic-version: header is required'));
  }
  let batchBody: unknown = undefined;
  if (body.length > 0) {
    try {
      batchBody = JSON.parse(body.toString('utf8'));
    } catch {
      return error(invalidRequest('There was an error parsing the body of your request: invalid JSON'));
    }
  }
  const routed = store.route(req.method ?? 'GET', path, batchBody, workflowId);
  if (routed.kind === 'error') return error(routed.error);
  return {
    kind: 'ok',
    send: (res, headers) =>
      routed.kind === 'jsonl'
        ? sendJsonl(res, routed.lines, headers)
        : sendJson(res, routed.status, routed.body, headers),
  };
}
