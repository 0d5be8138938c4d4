/**
 * A streamed answer as server-sent events, as the Messages API sends them: message_start, small text
 * (or input_json) deltas, message_delta with usage, message_stop. Injected stream faults: a stall
 * after message_start (until the client gives up) or an `event: error` after a few deltas.
 */
import type * as http from 'node:http';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { chunk } from './generate';
import { sleep, untilAborted } from './http';
import { usageLog, type MessageFactory, type Produced } from './messages';
import type { MessagesRequest } from './request';
import type { RequestLogEntry } from './types';

/** Text deltas of about this many characters, like the real service's small chunks. */
const DELTA_CHARS = 20;
/** The real service fails a stream only after it has started; this many deltas go out first. */
const DELTAS_BEFORE_STREAM_ERROR = 2;

type SseEvent =
  | RawMessageStreamEvent
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string }; request_id: string };

export interface StreamHost {
  messages: MessageFactory;
  record(entry: RequestLogEntry, status: number, outcome: RequestLogEntry['outcome'], fault: string | null): void;
  chunkDelayMs(model: string): number;
}

export async function serveStream(
  host: StreamHost,
  res: http.ServerResponse,
  entry: RequestLogEntry,
  request: MessagesRequest,
  produced: Produced,
  requestId: string,
  mode: 'ok' | 'streamError' | 'stall',
  signal: AbortSignal,
  rateLimitHeaders: Record<string, string>,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': requestId,
    ...rateLimitHeaders,
  });
  // Events are collected and written together until the stream pauses (a chunk delay, a stall) or ends:
  // the same bytes, but one write instead of one per 20-character delta. A 100-subtask plan is ~1,050
  // events; written one by one (Node corks a response's first write until the last), the client saw
  // not even the headers for ~30 ms, and the benchmark counted that against renga's streamed calls.
  let pending = '';
  const send = (event: SseEvent): void => {
    pending += `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  };
  const flush = (): void => {
    if (pending) res.write(pending);
    pending = '';
  };

  const start = host.messages.messageOf(request, produced, null, null, 1);
  if (mode === 'stall') {
    host.record(entry, 200, 'fault', 'stall');
    send({ type: 'message_start', message: start });
    flush();
    await untilAborted(signal);
    return;
  }
  send({ type: 'message_start', message: start });

  const block = produced.block;
  const isTool = block.type === 'tool_use';
  send({
    type: 'content_block_start',
    index: 0,
    content_block: isTool ? { ...block, input: {} } : { type: 'text', text: '', citations: null },
  });
  send({ type: 'ping' });

  const pieces = chunk(produced.served, DELTA_CHARS);
  for (let i = 0; i < pieces.length; i++) {
    if (mode === 'streamError' && i === DELTAS_BEFORE_STREAM_ERROR) break;
    const delay = i > 0 ? host.chunkDelayMs(request.model) : 0;
    if (delay > 0) flush();
    if (i > 0 && (signal.aborted || (delay > 0 && !(await sleep(delay, signal))))) {
      host.record(entry, 200, 'fault', 'aborted');
      return;
    }
    const piece = pieces[i]!;
    send({
      type: 'content_block_delta',
      index: 0,
      delta: isTool ? { type: 'input_json_delta', partial_json: piece } : { type: 'text_delta', text: piece },
    });
  }
  if (mode === 'streamError') {
    host.record(entry, 200, 'fault', 'streamError');
    send({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: requestId });
    res.end(pending);
    return;
  }

  send({ type: 'content_block_stop', index: 0 });
  send({
    type: 'message_delta',
    delta: { stop_reason: produced.stopReason, stop_sequence: null, stop_details: null, container: null },
    usage: {
      input_tokens: produced.inputTokens,
      output_tokens: produced.outputTokens,
      cache_creation_input_tokens: produced.cache.write,
      cache_read_input_tokens: produced.cache.read,
      output_tokens_details: null,
      server_tool_use: null,
    },
  });
  entry.usage = usageLog(produced);
  entry.stopReason = produced.stopReason;
  entry.responseText = produced.served;
  produced.cache.commit();
  host.record(entry, 200, 'ok', null);
  send({ type: 'message_stop' });
  res.end(pending);
}
