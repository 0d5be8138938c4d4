/**
 * Reads a streamed Messages API answer (server-sent events) into the finished Message, a network
 * chunk at a time. The SDK's MessageStream does the same an event at a time, through several
 * promises per event; inside an activity, where Temporal's async context tracks every promise, that
 * was most of the client's cost of a long answer: a 100-subtask plan (~500 events) took 69 ms past
 * the model's latency, a 1,000-subtask one ~100 ms more than the same answer unstreamed
 * (BENCHMARKS.md, issue 14). Here each chunk is parsed synchronously, however many events it holds.
 *
 * Only what renga asks for is accumulated: text (with citations), tool_use, thinking and
 * redacted_thinking blocks, stop reason and usage, as MessageStream does. The request itself
 * (URL, headers, HTTP errors, the SDK's typed APIError hierarchy) stays the SDK's.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { ErrorType } from '@anthropic-ai/sdk/resources/shared';
import type { ContentBlock, Message, RawMessageStreamEvent, TextCitation } from '@anthropic-ai/sdk/resources/messages';

/** Raised when the stream ends without `message_stop`: an answer cut off by the network. */
export class StreamEndedEarlyError extends Anthropic.AnthropicError {
  override readonly name = 'StreamEndedEarlyError';
}

type Block = ContentBlock & { text?: string; thinking?: string; signature?: string; citations?: TextCitation[] | null };

/** One answer, assembled from its events. */
export class MessageAccumulator {
  private message: Message | null = null;
  /** Deltas of each block, joined once at its end rather than re-copied per delta. */
  private parts: string[][] = [];
  private stopped = false;

  add(event: RawMessageStreamEvent): void {
    switch (event.type) {
      case 'message_start':
        this.message = { ...event.message, content: [] };
        return;
      case 'content_block_start':
        this.need().content[event.index] = { ...event.content_block } as ContentBlock;
        this.parts[event.index] = [];
        return;
      case 'content_block_delta': {
        const block = this.need().content[event.index] as Block | undefined;
        const d = event.delta;
        if (!block) return;
        if (d.type === 'text_delta' || d.type === 'input_json_delta' || d.type === 'thinking_delta') {
          this.parts[event.index]!.push(
            d.type === 'text_delta' ? d.text : d.type === 'thinking_delta' ? d.thinking : d.partial_json,
          );
        } else if (d.type === 'signature_delta') block.signature = d.signature;
        else if (d.type === 'citations_delta') block.citations = [...(block.citations ?? []), d.citation];
        return;
      }
      case 'content_block_stop':
        this.closeBlock(event.index);
        return;
      case 'message_delta': {
        const m = this.need();
        m.stop_reason = event.delta.stop_reason;
        m.stop_sequence = event.delta.stop_sequence;
        // Cumulative totals, omitted when they do not apply: overwrite when present, never add.
        m.usage.output_tokens = event.usage.output_tokens;
        if (event.usage.input_tokens != null) m.usage.input_tokens = event.usage.input_tokens;
        if (event.usage.cache_creation_input_tokens != null)
          m.usage.cache_creation_input_tokens = event.usage.cache_creation_input_tokens;
        if (event.usage.cache_read_input_tokens != null)
          m.usage.cache_read_input_tokens = event.usage.cache_read_input_tokens;
        if (event.usage.server_tool_use != null) m.usage.server_tool_use = event.usage.server_tool_use;
        return;
      }
      case 'message_stop':
        this.stopped = true;
        return;
    }
  }

  /** The finished Message; throws when the stream ended before `message_stop`. */
  finish(): Message {
    if (!this.message || !this.stopped) throw new StreamEndedEarlyError('the stream ended before message_stop');
    return this.message;
  }

  private need(): Message {
    if (!this.message) throw new Anthropic.AnthropicError('stream event before message_start');
    return this.message;
  }

  private closeBlock(index: number): void {
    const block = this.need().content[index] as Block | undefined;
    const joined = (this.parts[index] ?? []).join('');
    if (!block) return;
    if (block.type === 'text') block.text = (block.text ?? '') + joined;
    else if (block.type === 'thinking') block.thinking = (block.thinking ?? '') + joined;
    else if ((block.type === 'tool_use' || block.type === 'server_tool_use') && joined)
      block.input = JSON.parse(joined);
  }
}

/**
 * Reads `response`'s body as server-sent events into a Message. `onChunk` runs for every network
 * chunk (the idle watchdog's heartbeat). An `error` event throws the SDK's APIError without a
 * status, as the SDK's own stream does (activities/errors.ts classifies it as retryable).
 */
export async function readMessageStream(response: Response, onChunk: () => void): Promise<Message> {
  if (!response.body) throw new Anthropic.AnthropicError('the streamed answer has no body');
  const acc = new MessageAccumulator();
  const decoder = new TextDecoder();
  let buffered = '';
  const dispatch = (block: string): void => {
    let event = '';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length || event === 'ping') return;
    const text = data.join('\n');
    if (event === 'error') {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: the SDK keeps the raw text as the error body too.
      }
      const type = (body as { error?: { type?: ErrorType } } | null)?.error?.type;
      throw new Anthropic.APIError(undefined, body as object, undefined, response.headers, type);
    }
    acc.add(JSON.parse(text) as RawMessageStreamEvent);
  };
  const reader = response.body.getReader();
  let held = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onChunk();
      buffered += held + decoder.decode(value, { stream: true });
      held = '';
      // Events end with a blank line. The real service sends "\n"; the format allows "\r\n" and "\r"
      // too, made "\n" here (a final "\r" waits for the next chunk, which may start with its "\n").
      if (buffered.includes('\r')) {
        if (buffered.endsWith('\r')) {
          held = '\r';
          buffered = buffered.slice(0, -1);
        }
        buffered = buffered.replace(/\r\n?/g, '\n');
      }
      let end = buffered.indexOf('\n\n');
      let start = 0;
      while (end !== -1) {
        dispatch(buffered.slice(start, end));
        start = end + 2;
        end = buffered.indexOf('\n\n', start);
      }
      buffered = buffered.slice(start);
    }
    buffered += (held ? '\n' : '') + decoder.decode();
    if (buffered.trim()) dispatch(buffered);
  } catch (err) {
    // An error event or a bad event: stop reading, so the connection is not left half-read.
    await reader.cancel().catch(() => undefined);
    if (err instanceof Anthropic.AnthropicError || err instanceof SyntaxError) throw err;
    // The connection broke off mid-answer (reset, or aborted by the watchdog or a cancel, which the
    // caller tells apart): a connection error, retried like one that failed before the headers.
    throw new Anthropic.APIConnectionError({
      message: `the answer's stream broke off: ${err instanceof Error ? err.message : String(err)}`,
      cause: err instanceof Error ? err : undefined,
    });
  }
  return acc.finish();
}
