/**
 * Scripted answer shapes: what a real model sometimes does to a well-formed request, on demand.
 * `sim.scriptAnswer({ match: { textIncludes: 'Plan the job' }, extraItems: 5 })` makes the next
 * matching answer carry five more array items than the schema's limit; `stopReason: 'max_tokens'`
 * cuts it off as a model that ran out of output tokens does; `invalidJson` answers prose.
 * For spend and quality tests: `stopReason: 'refusal'` declines, `invalidOutput` answers JSON that
 * misses the requested schema, `lengthTokens` sizes a text answer (fixed, or drawn from [min, max]
 * seeded by the prompt), `fields` picks a structured field's values by item index (the planner's
 * tiers), `sticky` keeps a rule for every matching request.
 */
import type { ContentBlock, StopReason } from '@anthropic-ai/sdk/resources/messages';
import { z } from 'zod';
import { mulberry32 } from './faults';

export interface ScriptedAnswer {
  match?: { model?: string; textIncludes?: string };
  /** Matching requests this applies to (default 1). */
  times?: number;
  /** Structured answers: append this many items to the first top-level array. */
  extraItems?: number;
  /** 'max_tokens': the answer is cut off at half its length and reports max_tokens; 'refusal': the model declines. */
  stopReason?: 'max_tokens' | 'refusal';
  /** Answer with this text instead (not valid JSON for a structured request). */
  invalidJson?: string;
  /** Structured answers: valid JSON that does not match the requested schema. */
  invalidOutput?: boolean;
  /** Text answers of this many tokens, or a length drawn from [min, max] (seeded by the prompt). */
  lengthTokens?: number | [number, number];
  /** Structured answers: values for a property name, by array item index (cycling). */
  fields?: Record<string, unknown[]>;
  /** Applies to every matching request (`times` is ignored). */
  sticky?: boolean;
}

/** The same, validated, for the control endpoint (`POST /_sim/answers`). */
const ScriptedAnswerSchema = z.strictObject({
  match: z.strictObject({ model: z.string().optional(), textIncludes: z.string().optional() }).optional(),
  times: z.number().int().positive().optional(),
  extraItems: z.number().int().positive().optional(),
  stopReason: z.enum(['max_tokens', 'refusal']).optional(),
  invalidJson: z.string().optional(),
  invalidOutput: z.boolean().optional(),
  lengthTokens: z
    .union([z.number().int().positive(), z.tuple([z.number().int().positive(), z.number().int().positive()])])
    .optional(),
  fields: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
  sticky: z.boolean().optional(),
});
export const ScriptedAnswersSchema = z.union([z.array(ScriptedAnswerSchema), ScriptedAnswerSchema]);

export const REFUSAL_TEXT = 'I can’t help with that request.';

/** A text of `tokens` tokens (4 characters each, as the simulator counts) that starts like `head`. */
export function textOfLength(head: string, tokens: number): string {
  const want = tokens * 4;
  let out = head;
  while (out.length < want) out += ' Further simulated detail follows here.';
  return out.slice(0, want);
}

/** The parts of a produced answer a script may reshape (simulator/server.ts's Produced). */
interface Shapeable {
  block: ContentBlock;
  served: string;
  stopReason: StopReason;
  outputTokens: number;
}

export class AnswerScript {
  private readonly queue: Array<ScriptedAnswer & { remaining: number }> = [];

  enqueue(answers: ScriptedAnswer[]): void {
    for (const a of answers) if ((a.times ?? 1) > 0) this.queue.push({ ...a, remaining: a.times ?? 1 });
  }

  clear(): void {
    this.queue.length = 0;
  }

  pending(): number {
    return this.queue.length;
  }

  /** The rule for one request, used up (unless sticky); null when none matches. Taken before the answer is made. */
  take(req: { model: string; lastUserText: string }): ScriptedAnswer | null {
    const idx = this.queue.findIndex(
      (a) =>
        (a.match?.model === undefined || a.match.model === req.model) &&
        (a.match?.textIncludes === undefined || req.lastUserText.includes(a.match.textIncludes)),
    );
    if (idx < 0) return null;
    const a = this.queue[idx]!;
    if (!a.sticky && --a.remaining <= 0) this.queue.splice(idx, 1);
    return a;
  }

  /** The text length a rule asks for, if any (a range is drawn from the prompt's digest, so a retry gets the same). */
  static lengthOf(a: ScriptedAnswer | null, digest: string): number | undefined {
    const l = a?.lengthTokens;
    if (l === undefined || typeof l === 'number') return l;
    const u = mulberry32(parseInt(digest.slice(0, 8), 16) || 1)();
    return l[0] + Math.floor(u * (Math.max(l[0], l[1]) - l[0] + 1));
  }

  /** Reshapes a produced answer by its rule: extra items, invalid JSON or output, refusal, truncation. */
  reshape<P extends Shapeable>(
    a: ScriptedAnswer | null,
    req: { maxTokens: number | null; structured: boolean },
    produced: P,
  ): P {
    if (!a || produced.block.type !== 'text') return produced;
    if (a.stopReason === 'refusal') {
      const text = REFUSAL_TEXT;
      return {
        ...produced,
        block: { ...produced.block, text },
        served: text,
        stopReason: 'refusal',
        outputTokens: Math.ceil(text.length / 4),
      };
    }
    let text = produced.served;
    if (a.invalidOutput && req.structured) text = JSON.stringify({ unexpected: 'not what the schema asked for' });
    let stopReason = produced.stopReason;
    let outputTokens: number;
    if (a.extraItems) text = withExtraItems(text, a.extraItems);
    if (a.invalidJson !== undefined) text = a.invalidJson;
    outputTokens =
      a.extraItems || a.invalidJson !== undefined || a.invalidOutput
        ? Math.max(1, Math.ceil(text.length / 4))
        : produced.outputTokens;
    if (a.stopReason === 'max_tokens') {
      text = text.slice(0, Math.floor(text.length / 2));
      stopReason = 'max_tokens';
      outputTokens = req.maxTokens ?? outputTokens;
    }
    return { ...produced, block: { ...produced.block, text }, served: text, stopReason, outputTokens };
  }
}

function withExtraItems(json: string, n: number): string {
  const value = JSON.parse(json) as Record<string, unknown>;
  const key = Object.keys(value).find((k) => Array.isArray(value[k]));
  const items = key === undefined ? undefined : (value[key] as unknown[]);
  const first = items?.[0];
  if (!items || typeof first !== 'object' || first === null) return json;
  for (let i = 1; i <= n; i++) {
    // A copy of the first item with its strings marked, so every extra item is told apart.
    items.push(
      Object.fromEntries(Object.entries(first).map(([k, v]) => [k, typeof v === 'string' ? `${v} (extra ${i})` : v])),
    );
  }
  return JSON.stringify(value);
}
