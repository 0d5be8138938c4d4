/**
 * Scripted answer shapes: how the simulated model ends or sizes an answer for requests that carry a
 * marker, so tests can make a subtask's answer truncated (`max_tokens`), refused (`refusal`), invalid
 * against its output schema, of a chosen or random length, or pick a structured field's values.
 * A rule is used `times` times (default 1), then dropped; rules are matched in the order given.
 */
import { z } from 'zod';
import { mulberry32 } from './faults';

export const ScriptedAnswerSchema = z.strictObject({
  match: z.strictObject({ model: z.string().optional(), textIncludes: z.string().optional() }).optional(),
  /** `max_tokens`: the answer runs past the request's max_tokens and is cut; `refusal`: the model declines. */
  stopReason: z.enum(['max_tokens', 'refusal']).optional(),
  /** Structured output that does not match the requested schema. */
  invalidOutput: z.boolean().optional(),
  /** Text answers of this many tokens, or a length drawn from [min, max] (seeded by the prompt). */
  lengthTokens: z
    .union([z.number().int().positive(), z.tuple([z.number().int().positive(), z.number().int()])])
    .optional(),
  /** Structured output: values for a property name, by array index (cycling), e.g. `{ tier: ['fast', 'strong'] }`. */
  fields: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
  /** Uses of this rule; 0 or absent with `sticky` keeps it forever. */
  times: z.number().int().positive().optional(),
  sticky: z.boolean().optional(),
});
export type ScriptedAnswer = z.infer<typeof ScriptedAnswerSchema>;
export const ScriptedAnswersSchema = z.union([z.array(ScriptedAnswerSchema), ScriptedAnswerSchema]);

export interface AnswerShape {
  stopReason?: 'max_tokens' | 'refusal';
  invalidOutput?: boolean;
  lengthTokens?: number;
  fields?: Record<string, unknown[]>;
}

export const REFUSAL_TEXT = 'I can’t help with that request.';

export class AnswerScript {
  private readonly rules: Array<ScriptedAnswer & { remaining: number }> = [];

  add(rules: ScriptedAnswer[]): void {
    for (const r of rules) this.rules.push({ ...r, remaining: r.times ?? 1 });
  }

  clear(): void {
    this.rules.length = 0;
  }

  pending(): number {
    return this.rules.length;
  }

  /** The shape for one request (consuming a use of the rule), or null when no rule matches. */
  take(ctx: { model: string; lastUserText: string; digest: string }): AnswerShape | null {
    const idx = this.rules.findIndex(
      (r) =>
        (r.match?.model === undefined || r.match.model === ctx.model) &&
        (r.match?.textIncludes === undefined || ctx.lastUserText.includes(r.match.textIncludes)),
    );
    if (idx < 0) return null;
    const rule = this.rules[idx]!;
    if (!rule.sticky) {
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.rules.splice(idx, 1);
    }
    let lengthTokens: number | undefined;
    if (typeof rule.lengthTokens === 'number') lengthTokens = rule.lengthTokens;
    else if (rule.lengthTokens) {
      const [lo, hi] = rule.lengthTokens;
      // Seeded by the prompt: the same request gets the same length, so a retried call is reproducible.
      const u = mulberry32(parseInt(ctx.digest.slice(0, 8), 16))();
      lengthTokens = lo + Math.floor(u * (Math.max(lo, hi) - lo + 1));
    }
    return {
      ...(rule.stopReason ? { stopReason: rule.stopReason } : {}),
      ...(rule.invalidOutput ? { invalidOutput: true } : {}),
      ...(lengthTokens !== undefined ? { lengthTokens } : {}),
      ...(rule.fields ? { fields: rule.fields } : {}),
    };
  }
}

/** A text of about `tokens` tokens (4 characters each, as the simulator counts) that starts with `head`. */
export function textOfLength(head: string, tokens: number): string {
  const want = tokens * 4;
  if (head.length >= want) return head.slice(0, want);
  const filler = ' Further simulated detail follows here.';
  let out = head;
  while (out.length < want) out += filler;
  return out.slice(0, want);
}
