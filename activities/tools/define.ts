/**
 * Tools written in TypeScript and registered on the worker: `defineTool({ name, description, input, run })`.
 * The zod input schema is both what the model is shown (as JSON Schema) and what its arguments are
 * checked against before `run` sees them, so `run` gets typed, validated input.
 */
import { z } from 'zod';

/** What a tool call produced, as text for the model. `isError` results go back as `is_error` tool results. */
export interface ToolOutcome {
  text: string;
  isError: boolean;
}

/** Passed to `run`: the activity's cancellation (a cancelled job stops the tool) and a heartbeat. */
export interface ToolContext {
  signal: AbortSignal;
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the input, as the Messages API's `tools[].input_schema` wants it. */
  inputSchema: Record<string, unknown>;
  /** Validates the raw input, runs the tool, and turns its answer or its exception into a ToolOutcome. */
  call(input: unknown, ctx: ToolContext): Promise<ToolOutcome>;
}

/** The Messages API's rule for tool names. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function defineTool<S extends z.ZodObject>(spec: {
  name: string;
  description: string;
  input: S;
  /** Returns the text the model reads; throwing is fine: the model gets the message as an `is_error` result. */
  run: (input: z.output<S>, ctx: ToolContext) => Promise<string> | string;
}): ToolDefinition {
  if (!TOOL_NAME.test(spec.name) || spec.name.startsWith('mcp__')) {
    throw new Error(
      `tool name "${spec.name}" must match ${TOOL_NAME} and not start with mcp__ (reserved for MCP tools)`,
    );
  }
  const inputSchema = z.toJSONSchema(spec.input, { target: 'draft-2020-12' }) as Record<string, unknown>;
  delete inputSchema.$schema;
  return {
    name: spec.name,
    description: spec.description,
    inputSchema,
    async call(raw, ctx) {
      const parsed = spec.input.safeParse(raw);
      if (!parsed.success) return { text: `invalid input: ${z.prettifyError(parsed.error)}`, isError: true };
      try {
        return { text: await spec.run(parsed.data, ctx), isError: false };
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        return { text: err instanceof Error ? err.message : String(err), isError: true };
      }
    },
  };
}
