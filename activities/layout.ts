/**
 * The one request layout every role uses, so that a prefix cached by one call is read by the next:
 * the same system prompt, then the job's shared block (marked for caching when the model would
 * cache a prefix that long), then the call's own text and the role's instructions.
 */
import type { MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import type { ModelCall } from './llm';
import { limitsFor } from '../shared/pricing';
import * as prompts from './prompts';

/** The API's own rough ratio; only decides whether a cache marker is worth sending. */
const CHARS_PER_TOKEN = 4;

/** Whether `model` would cache a prefix of the system prompt plus a shared block of `chars` characters. */
export function cacheable(model: string, chars: number): boolean {
  return (prompts.SYSTEM.length + chars) / CHARS_PER_TOKEN >= limitsFor(model).cacheMinTokens;
}

/** The shared block, with a cache breakpoint when it pays on this model. */
export function sharedBlock(text: string, model: string): TextBlockParam {
  return cacheable(model, text.length)
    ? { type: 'text', text, cache_control: { type: 'ephemeral' } }
    : { type: 'text', text };
}

/** The call's own text right after the shared block, then the role's instructions. */
export function requestLayout(
  shared: string,
  model: string,
  text: string,
  role?: string,
): { system: string; messages: MessageParam[] } {
  return {
    system: prompts.SYSTEM,
    messages: [
      {
        role: 'user',
        content: [
          sharedBlock(shared, model),
          { type: 'text', text },
          ...(role ? [{ type: 'text' as const, text: prompts.roleText(role) }] : []),
        ],
      },
    ],
  };
}

/**
 * A request built elsewhere (activities/plan.ts: the shared block, then the call's text) put into
 * the one layout: the common system prompt, and the role's instructions after the first turn's text.
 */
export function inRoleLayout(c: ModelCall, role: string): ModelCall {
  const [first, ...rest] = c.messages;
  if (!first || first.role !== 'user' || typeof first.content === 'string') return { ...c, system: prompts.SYSTEM };
  const withRole: MessageParam = {
    role: 'user',
    content: [...first.content, { type: 'text', text: prompts.roleText(role) }],
  };
  return { ...c, system: prompts.SYSTEM, messages: [withRole, ...rest] };
}
