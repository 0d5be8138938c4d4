/**
 * The simulated model as a tool-using agent. When a request offers tools (and forces none), the model
 * asks for a tool on each of its first N turns, then answers in text that quotes the tool results it
 * read. N comes from `[sim:tool-turns=N]` (or `=N-M`, picked per conversation) anywhere in the first
 * user message, else 2. The tool is the offered ones in turn, its input generated from the tool's input
 * schema; a string field named like a path takes an absolute path mentioned in the conversation, so a
 * filesystem tool reads a real file. Stateless: the turn is counted from the conversation itself.
 */
import { generateFromSchema, promptWords, shortHash } from './generate';

type Obj = Record<string, unknown>;

const DEFAULT_TOOL_TURNS = 2;
/** Tool results quoted in the final answer (the last ones), and characters of each. */
const QUOTED_RESULTS = 5;
const QUOTE_CHARS = 160;

export interface AgentToolOffer {
  name: string;
  inputSchema: unknown;
}

export interface AgentRequest {
  tools: AgentToolOffer[];
  /** 1 + the assistant messages so far. */
  turn: number;
  /** Text of the conversation's first user message (job, context and subtask in renga's prompts). */
  head: string;
  /** Tool results in the last user message, as the model reads them. */
  toolResults: { toolUseId: string; isError: boolean; text: string }[];
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => (isObj(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : ''))
    .filter(Boolean)
    .join('\n');
}

/** The agent view of a request, or null when it offers no tools (or forbids or forces them). */
export function agentRequest(body: Obj): AgentRequest | null {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return null;
  const choice = isObj(body.tool_choice) ? body.tool_choice.type : undefined;
  if (choice === 'none' || choice === 'tool' || choice === 'any') return null;
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObj) : [];
  const tools = body.tools.filter(isObj).map((t) => ({ name: String(t.name), inputSchema: t.input_schema }));
  const last = messages[messages.length - 1];
  const toolResults =
    last && last.role === 'user' && Array.isArray(last.content)
      ? last.content
          .filter(isObj)
          .flatMap((b) =>
            b.type === 'tool_result'
              ? [{ toolUseId: String(b.tool_use_id), isError: b.is_error === true, text: text(b.content) }]
              : [],
          )
      : [];
  return {
    tools,
    turn: 1 + messages.filter((m) => m.role === 'assistant').length,
    head: text(messages.find((m) => m.role === 'user')?.content),
    toolResults,
  };
}

/** Tool turns this conversation takes before answering. */
export function toolTurns(req: AgentRequest): number {
  const m = /\[sim:tool-turns=(\d+)(?:-(\d+))?\]/.exec(req.head);
  if (!m) return DEFAULT_TOOL_TURNS;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Math.max(lo, Number(m[2]));
  // Different conversations of one job (its subtasks) get different counts, each always the same.
  return lo + (parseInt(shortHash(req.head), 16) % (hi - lo + 1));
}

export type AgentMove = { kind: 'tool'; name: string; input: unknown } | { kind: 'answer'; text: string };

export function nextMove(req: AgentRequest, arrayItems: number, answer: (head: string) => string): AgentMove {
  if (req.turn <= toolTurns(req)) {
    const tool = req.tools[(req.turn - 1) % req.tools.length]!;
    const input = generateFromSchema(tool.inputSchema ?? { type: 'object' }, {
      // Which conversation and turn a call came from shows in its text fields (tests count calls by it).
      words: `${promptWords(req.head)} (${shortHash(req.head, 6)} turn ${req.turn})`,
      arrayItems,
    });
    return {
      kind: 'tool',
      name: tool.name,
      input: withPaths(requiredOnly(input, tool.inputSchema), pathsIn(req.head), req.turn - 1),
    };
  }
  const quotes = req.toolResults
    .slice(-QUOTED_RESULTS)
    .map(
      (r) =>
        `«${r.isError ? 'error: ' : ''}${Array.from(r.text.replace(/\s+/g, ' ').trim()).slice(0, QUOTE_CHARS).join('')}»`,
    );
  return { kind: 'answer', text: `${answer(req.head)}${quotes.length ? ` Tool results: ${quotes.join(' ')}` : ''}` };
}

/** Like a model that fills in what a tool needs: optional top-level fields (e.g. `head` and `tail`) left out. */
function requiredOnly(input: unknown, schema: unknown): unknown {
  if (!isObj(input) || !isObj(schema) || !Array.isArray(schema.required)) return input;
  const required = new Set(schema.required.filter((k): k is string => typeof k === 'string'));
  return Object.fromEntries(Object.entries(input).filter(([k]) => required.has(k)));
}

/** Absolute paths of at least two segments mentioned in the text, in order, each once. */
function pathsIn(s: string): string[] {
  return [...new Set(s.match(/(?<![\w/.])\/[\w.-]+(?:\/[\w.-]+)+/g) ?? [])];
}

const PATH_FIELD = /path|file|dir|root/i;

/** Fields named like paths take a mentioned path (a different one each turn), so file tools hit real files. */
function withPaths(value: unknown, paths: string[], index: number, name = ''): unknown {
  if (paths.length === 0) return value;
  const pick = (i: number) => paths[i % paths.length]!;
  if (typeof value === 'string') return PATH_FIELD.test(name) ? pick(index) : value;
  if (Array.isArray(value)) {
    return value.map((v, i) => (typeof v === 'string' && PATH_FIELD.test(name) ? pick(index + i) : v));
  }
  if (isObj(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPaths(v, paths, index, k)]));
  }
  return value;
}

/** What the request log keeps about an agent turn, so tests can follow each conversation turn by turn. */
export interface AgentLogEntry {
  turn: number;
  head: string;
  tools: string[];
  toolResults: AgentRequest['toolResults'];
  /** The tool the simulated model asked for, or null when it answered. */
  toolUse: { name: string; input: unknown } | null;
}

export function agentLogEntry(req: AgentRequest, move: AgentMove | null): AgentLogEntry {
  return {
    turn: req.turn,
    head: req.head,
    tools: req.tools.map((t) => t.name),
    toolResults: req.toolResults,
    toolUse: move?.kind === 'tool' ? { name: move.name, input: move.input } : null,
  };
}
