import { invalidRequest, type ApiErrorSpec } from './errors';
import { shortHash } from './generate';
import { agentRequest, type AgentRequest } from './tools';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ForcedTool {
  name: string;
  inputSchema: unknown;
}

export interface MessagesRequest {
  model: string;
  maxTokens: number | null;
  stream: boolean;
  systemText: string | null;
  lastUserText: string;
  inputChars: number;
  promptDigest: string;
  format: Obj | null;
  forcedTool: ForcedTool | null;
  /** Set when tools are offered and the model may choose (simulator/tools.ts). */
  agent: AgentRequest | null;
  /** The parsed body, for prompt-cache accounting. */
  body: Obj;
}

export interface LogFields {
  model: string | null;
  stream: boolean;
  structured: boolean;
  system: string | null;
  lastUserText: string;
}

export type Validation = { ok: true; request: MessagesRequest } | { ok: false; error: ApiErrorSpec };

/** Text of one `content` value, which is either a string or an array of blocks. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is Obj => isObj(b) && b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n');
}

/** Everything the model would read, for the token estimate: text, tool calls and tool results. */
function contentChars(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const b of content) {
    if (!isObj(b)) continue;
    if (b.type === 'text' && typeof b.text === 'string') n += b.text.length;
    else if (b.type === 'tool_use') n += JSON.stringify(b.input ?? {}).length + String(b.name ?? '').length;
    else if (b.type === 'tool_result') n += contentChars(b.content);
  }
  return n;
}

function systemText(body: Obj): string | null {
  const parts: string[] = [];
  if (body.system !== undefined && body.system !== null) parts.push(contentText(body.system));
  if (Array.isArray(body.messages)) {
    // SDK 1.14 also types role: 'system' inside messages; treat it as more system prompt.
    for (const m of body.messages) if (isObj(m) && m.role === 'system') parts.push(contentText(m.content));
  }
  return parts.length > 0 ? parts.join('\n') : null;
}

function lastUserText(body: Obj): string {
  if (!Array.isArray(body.messages)) return '';
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const m: unknown = body.messages[i];
    if (isObj(m) && m.role === 'user') return contentText(m.content);
  }
  return '';
}

function isStructured(body: Obj): boolean {
  const fmt = isObj(body.output_config) ? body.output_config.format : undefined;
  if (isObj(fmt) && fmt.type === 'json_schema') return true;
  return isObj(body.tool_choice) && (body.tool_choice.type === 'tool' || body.tool_choice.type === 'any');
}

/** Best-effort fields for the log, readable even from a request that fails validation. */
export function logFields(body: unknown): LogFields {
  if (!isObj(body)) return { model: null, stream: false, structured: false, system: null, lastUserText: '' };
  return {
    model: typeof body.model === 'string' ? body.model : null,
    stream: body.stream === true,
    structured: isStructured(body),
    system: systemText(body),
    lastUserText: lastUserText(body),
  };
}

export function validateMessagesRequest(body: unknown, countTokens: boolean): Validation {
  const fail = (message: string): Validation => ({ ok: false, error: invalidRequest(message) });
  if (!isObj(body)) return fail('Request body must be a JSON object.');

  if (body.model === undefined) return fail('model: Field required');
  if (typeof body.model !== 'string' || body.model.length === 0) return fail('model: Input should be a valid string');

  let maxTokens: number | null = null;
  if (!countTokens) {
    if (body.max_tokens === undefined) return fail('max_tokens: Field required');
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) {
      return fail('max_tokens: Input should be a valid integer');
    }
    if (body.max_tokens < 1) return fail('max_tokens: Input should be greater than or equal to 1');
    maxTokens = body.max_tokens;
  }

  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    return fail('stream: Input should be a valid boolean');
  }

  if (body.system !== undefined && body.system !== null) {
    const err = checkContent(body.system, 'system', true);
    if (err) return fail(err);
  }

  if (body.messages === undefined) return fail('messages: Field required');
  if (!Array.isArray(body.messages)) return fail('messages: Input should be a valid list');
  if (body.messages.length === 0) return fail('messages: at least one message is required');
  for (let i = 0; i < body.messages.length; i++) {
    const m: unknown = body.messages[i];
    if (!isObj(m)) return fail(`messages.${i}: Input should be a valid dictionary`);
    if (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system') {
      return fail(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    if (m.content === undefined) return fail(`messages.${i}.content: Field required`);
    const err = checkContent(m.content, `messages.${i}.content`, m.role === 'system');
    if (err) return fail(err);
  }

  const tools = body.tools;
  if (tools !== undefined && !Array.isArray(tools)) return fail('tools: Input should be a valid list');
  const toolList: Obj[] = [];
  if (Array.isArray(tools)) {
    for (let i = 0; i < tools.length; i++) {
      const t: unknown = tools[i];
      if (!isObj(t) || typeof t.name !== 'string') return fail(`tools.${i}.name: Field required`);
      toolList.push(t);
    }
  }

  let forcedTool: ForcedTool | null = null;
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    const tc = body.tool_choice;
    if (!isObj(tc) || typeof tc.type !== 'string') return fail('tool_choice.type: Field required');
    if (tc.type === 'tool') {
      if (typeof tc.name !== 'string') return fail('tool_choice.name: Field required');
      const tool = toolList.find((t) => t.name === tc.name);
      if (!tool) return fail(`tool_choice: Tool '${tc.name}' not found in provided tools`);
      forcedTool = { name: tc.name, inputSchema: tool.input_schema };
    } else if (tc.type === 'any') {
      const tool = toolList[0];
      if (!tool) return fail('tool_choice: tool_choice.type any requires at least one tool');
      forcedTool = { name: String(tool.name), inputSchema: tool.input_schema };
    } else if (tc.type !== 'auto' && tc.type !== 'none') {
      return fail(`tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'`);
    }
  }

  let format: Obj | null = null;
  if (body.output_config !== undefined && body.output_config !== null) {
    if (!isObj(body.output_config)) return fail('output_config: Input should be a valid dictionary');
    const fmt = body.output_config.format;
    if (fmt !== undefined && fmt !== null) {
      if (!isObj(fmt) || fmt.type !== 'json_schema')
        return fail("output_config.format.type: Input should be 'json_schema'");
      if (!isObj(fmt.schema)) return fail('output_config.format.schema: Input should be a valid dictionary');
      format = fmt.schema;
    }
  }

  let inputChars = 0;
  if (body.system !== undefined && body.system !== null) inputChars += contentChars(body.system);
  for (const m of body.messages as Obj[]) inputChars += contentChars(m.content);

  return {
    ok: true,
    request: {
      model: body.model,
      maxTokens,
      stream: body.stream === true,
      systemText: systemText(body),
      lastUserText: lastUserText(body),
      inputChars,
      promptDigest: shortHash(JSON.stringify([body.system ?? null, body.messages])),
      format,
      forcedTool,
      agent: forcedTool || format ? null : agentRequest(body),
      body,
    },
  };
}

function checkContent(content: unknown, field: string, textOnly: boolean): string | null {
  if (typeof content === 'string') return null;
  if (!Array.isArray(content)) return `${field}: Input should be a valid string or list of content blocks`;
  for (let j = 0; j < content.length; j++) {
    const b: unknown = content[j];
    if (!isObj(b)) return `${field}.${j}: Input should be a valid dictionary`;
    if (typeof b.type !== 'string') return `${field}.${j}.type: Field required`;
    if (textOnly && b.type !== 'text') return `${field}.${j}.type: Input should be 'text'`;
    if (b.type === 'text' && typeof b.text !== 'string') return `${field}.${j}.text: Field required`;
  }
  return null;
}
