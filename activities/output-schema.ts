/**
 * A job's `subtaskOutputSchema`: the JSON Schema every subtask answer must match. The API's
 * structured output constrains the answer; this validates it anyway (a truncated, refused or
 * off-schema answer must never count as done). Ajv is the maintained JSON Schema validator.
 */
import Ajv, { type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();

export class InvalidOutputSchemaError extends Error {
  override readonly name = 'InvalidOutputSchemaError';
}

/** Compiles (once per distinct schema) or throws naming what is wrong with the schema. */
export function compileOutputSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let fn = compiled.get(key);
  if (!fn) {
    try {
      fn = ajv.compile(schema);
    } catch (err) {
      throw new InvalidOutputSchemaError(`not a usable JSON Schema: ${(err as Error).message}`, { cause: err });
    }
    compiled.set(key, fn);
  }
  return fn;
}

/** null when `text` is JSON matching the schema; otherwise one line naming the problems. */
export function outputIssues(schema: Record<string, unknown>, text: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  const validate = compileOutputSchema(schema);
  if (validate(value)) return null;
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`).join('; ');
}
