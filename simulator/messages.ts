/**
 * What the simulated model answers: text, structured output, a forced or agent tool call, cut off at
 * max_tokens like the real model, with prompt-cache accounting; and the Message object around it.
 */
import type { ContentBlock, Message, StopReason, Usage } from '@anthropic-ai/sdk/resources/messages';
import {
  invalidRequest,
  notFound,
  overloaded,
  rateLimited,
  serverError,
  tooLarge,
  unauthorized,
  type ApiErrorSpec,
} from './errors';
import type { FaultDecision } from './faults';
import { estimateTokens, generateFromSchema, promptWords, textAnswer, tokensForChars } from './generate';
import { AnswerScript, textOfLength, type ScriptedAnswer } from './answers';
import { PromptCache, type CacheUsage, type PendingCacheUsage } from './prompt-cache';
import type { MessagesRequest } from './request';
import { agentLogEntry, nextMove } from './tools';
import type { RequestLogEntry } from './types';

export /** What the simulated model produced for one request. */
interface Produced {
  block: ContentBlock;
  /** Text, or the JSON of a tool input, exactly as served. */
  served: string;
  stopReason: StopReason;
  inputTokens: number;
  outputTokens: number;
  /** Prompt-cache reads and writes (simulator/prompt-cache.ts); `inputTokens` is what is left; `commit` once served. */
  cache: PendingCacheUsage;
}

export class MessageFactory {
  readonly promptCache = new PromptCache();

  constructor(
    private readonly arrayItems: number,
    private readonly newId: (prefix: string) => string,
  ) {}

  /** `rule`: a scripted answer (simulator/answers.ts) that picks field values or the text's length. */
  produce(request: MessagesRequest, entry?: RequestLogEntry, rule: ScriptedAnswer | null = null): Produced {
    const cache = this.promptCache.account(request.body, request.model);
    const inputTokens = tokensForChars(request.inputChars) - cache.read - cache.write;
    // Extended thinking is billed as output: the simulated model "thinks" a little, within its budget.
    const thinking = request.thinkingTokens === null ? 0 : Math.min(request.thinkingTokens, 64);
    const gen = {
      words: promptWords(request.lastUserText),
      arrayItems: this.arrayItems,
      ...(rule?.fields ? { fields: rule.fields } : {}),
    };
    const move = request.agent
      ? nextMove(request.agent, this.arrayItems, (head) => textAnswer(request.model, head, request.promptDigest))
      : null;
    if (request.agent && entry) entry.agent = agentLogEntry(request.agent, move);
    // A tool call: the agent loop's scripted move, or the tool the request forces.
    const toolUse = (name: string, input: unknown): Produced => {
      const served = JSON.stringify(input);
      return {
        block: { type: 'tool_use', id: this.newId('toolu_sim_'), name, input, caller: { type: 'direct' } },
        served,
        stopReason: 'tool_use',
        inputTokens,
        outputTokens: estimateTokens(served),
        cache,
      };
    };
    if (move?.kind === 'tool') return toolUse(move.name, move.input);
    if (request.forcedTool) {
      return toolUse(
        request.forcedTool.name,
        generateFromSchema(request.forcedTool.inputSchema ?? { type: 'object' }, gen),
      );
    }
    let text =
      move?.kind === 'answer'
        ? move.text
        : request.format
          ? JSON.stringify(generateFromSchema(request.format, gen))
          : textAnswer(request.model, request.lastUserText, request.promptDigest);
    let stopReason: StopReason = 'end_turn';
    const length = AnswerScript.lengthOf(rule, request.promptDigest);
    if (!request.format && length !== undefined) text = textOfLength(text, length);
    const limit = Math.max(1, (request.maxTokens ?? Infinity) - thinking);
    // Like the real model, an answer longer than max_tokens is cut off (which also breaks its JSON).
    if (estimateTokens(text) > limit) {
      text = Array.from(text)
        .slice(0, limit * 4)
        .join('');
      stopReason = 'max_tokens';
    }
    return {
      block: { type: 'text', text, citations: null },
      served: text,
      stopReason,
      inputTokens,
      outputTokens: Math.min(estimateTokens(text), limit) + thinking,
      cache,
    };
  }

  messageOf(
    request: MessagesRequest,
    produced: Produced,
    block: ContentBlock | null,
    stopReason: StopReason | null,
    outputTokens: number,
  ): Message {
    return {
      id: this.newId('msg_sim_'),
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: block ? [block] : [],
      stop_reason: stopReason,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: usageOf(produced.inputTokens, outputTokens, produced.cache),
    };
  }
}

export function usageOf(input: number, output: number, cache: CacheUsage = { read: 0, write: 0 }): Usage {
  return {
    input_tokens: input,
    output_tokens: output,
    cache_creation_input_tokens: cache.write,
    cache_read_input_tokens: cache.read,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: 'standard',
  };
}

export function usageLog(p: Produced): NonNullable<RequestLogEntry['usage']> {
  return {
    input_tokens: p.inputTokens,
    output_tokens: p.outputTokens,
    cache_read_input_tokens: p.cache.read,
    cache_creation_input_tokens: p.cache.write,
  };
}

/** The API error an injected fault answers with. */
export function faultError(fault: FaultDecision, request: MessagesRequest): ApiErrorSpec {
  switch (fault.kind) {
    case 'rateLimit':
      return rateLimited(new Date(), fault.retryAfterSeconds);
    case 'overloaded':
      return overloaded();
    case 'server':
      return serverError();
    case 'badRequest':
      return invalidRequest('messages: simulated invalid request (injected fault)');
    case 'promptTooLong':
      return invalidRequest('prompt is too long: 215000 tokens > 200000 maximum');
    case 'unauthorized':
      return unauthorized();
    case 'notFound':
      return notFound(`model: ${request.model}`);
    case 'tooLarge':
      return tooLarge();
    default:
      return serverError();
  }
}
