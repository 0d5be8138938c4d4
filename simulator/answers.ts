/**
 * Scripted answer shapes: what a real model sometimes does to a well-formed request, on demand.
 * `sim.scriptAnswer({ match: { textIncludes: 'Plan the job' }, extraItems: 5 })` makes the next
 * matching answer carry five more array items than the schema's limit; `stopReason: 'max_tokens'`
 * cuts it off as a model that ran out of output tokens does; `invalidJson` answers prose.
 */
import type { ContentBlock, StopReason } from '@anthropic-ai/sdk/resources/messages';

export interface ScriptedAnswer {
  match?: { model?: string; textIncludes?: string };
  /** Matching requests this applies to (default 1). */
  times?: number;
  /** Structured answers: append this many items to the first top-level array. */
  extraItems?: number;
  /** 'max_tokens': the answer is cut off at half its length and reports max_tokens. */
  stopReason?: 'max_tokens';
  /** Answer with this text instead (not valid JSON for a structured request). */
  invalidJson?: string;
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

  apply<P extends Shapeable>(req: { model: string; lastUserText: string; maxTokens: number | null }, produced: P): P {
    const idx = this.queue.findIndex(
      (a) =>
        (a.match?.model === undefined || a.match.model === req.model) &&
        (a.match?.textIncludes === undefined || req.lastUserText.includes(a.match.textIncludes)),
    );
    if (idx < 0 || produced.block.type !== 'text') return produced;
    const a = this.queue[idx]!;
    if (--a.remaining <= 0) this.queue.splice(idx, 1);
    let text = produced.served;
    let stopReason = produced.stopReason;
    let outputTokens: number;
    if (a.extraItems) text = withExtraItems(text, a.extraItems);
    if (a.invalidJson !== undefined) text = a.invalidJson;
    outputTokens = Math.max(1, Math.ceil(text.length / 4));
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
