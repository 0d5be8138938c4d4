import { createHash } from 'node:crypto';

/** Rough token estimate (chars/4); exact counts do not matter, stability does. */
export function estimateTokens(text: string): number {
  return tokensForChars(text.length);
}

export function tokensForChars(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

const STOPWORDS = new Set([
  'the',
  'and',
  'for',
  'with',
  'that',
  'this',
  'from',
  'into',
  'your',
  'you',
  'are',
  'was',
  'were',
  'what',
  'which',
  'who',
  'how',
  'why',
  'when',
  'please',
  'about',
  'each',
  'their',
  'them',
  'then',
]);

/** A few content words of the prompt, so generated values visibly relate to what was asked. */
export function promptWords(text: string, max = 4): string {
  const words = (text.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length >= 3 && !STOPWORDS.has(w.toLowerCase()));
  const picked = words.slice(0, max).map((w) => w.toLowerCase());
  return picked.length > 0 ? picked.join(' ') : 'simulated output';
}

export function textAnswer(model: string, lastUserText: string, promptDigest: string): string {
  const head = Array.from(lastUserText.replace(/\s+/g, ' ').trim()).slice(0, 120).join('');
  return `Simulated answer from ${model} to: "${head}" [sim:${promptDigest}]`;
}

/** Splits on code points so a multi-byte character is never cut in half across two deltas. */
export function chunk(text: string, size = 20): string[] {
  const cps = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON Schema → a value that satisfies it (the subset structured outputs and tool schemas use).

type Schema = Record<string, unknown>;

export interface GenerateOptions {
  words: string;
  arrayItems: number;
  /** Values to use for a property name, by item index (cycling): scripted answers (simulator/answers.ts). */
  fields?: Record<string, unknown[]>;
}

interface Ctx extends GenerateOptions {
  root: Schema;
}

// Recursive schemas (trees) would otherwise expand forever; past this depth only what is required is built.
const MAX_DEPTH = 12;

function isObj(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function nonNegInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

export function generateFromSchema(schema: unknown, opts: GenerateOptions): unknown {
  const root = isObj(schema) ? schema : {};
  return gen(root, { ...opts, root }, 'value', 0, 0);
}

function resolveRef(root: Schema, ref: string): unknown {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObj(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function mergeAllOf(schema: Schema, ctx: Ctx): Schema {
  const parts = Array.isArray(schema.allOf) ? schema.allOf : [];
  const merged: Schema = { ...schema };
  delete merged.allOf;
  const props: Schema = isObj(schema.properties) ? { ...schema.properties } : {};
  const required = new Set<string>(stringArray(schema.required));
  for (const part of parts) {
    let p: unknown = part;
    if (isObj(p) && typeof p.$ref === 'string') p = resolveRef(ctx.root, p.$ref);
    if (!isObj(p)) continue;
    const flat = Array.isArray(p.allOf) ? mergeAllOf(p, ctx) : p;
    for (const [k, v] of Object.entries(flat)) {
      if (k === 'properties' && isObj(v)) Object.assign(props, v);
      else if (k === 'required') stringArray(v).forEach((r) => required.add(r));
      else if (!(k in merged)) merged[k] = v;
    }
  }
  if (Object.keys(props).length > 0) merged.properties = props;
  if (required.size > 0) merged.required = [...required];
  return merged;
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function pickType(schema: Schema): string {
  const t = schema.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const types = stringArray(t);
    return types.find((x) => x !== 'null') ?? types[0] ?? 'null';
  }
  if (isObj(schema.properties) || schema.additionalProperties !== undefined || Array.isArray(schema.required)) {
    return 'object';
  }
  if (schema.items !== undefined || Array.isArray(schema.prefixItems)) return 'array';
  return 'string';
}

function gen(schema: unknown, ctx: Ctx, name: string, index: number, depth: number): unknown {
  if (!isObj(schema)) return stringValue({}, ctx, name, index);
  if (typeof schema.$ref === 'string') {
    const target = resolveRef(ctx.root, schema.$ref);
    if (target !== undefined && depth <= MAX_DEPTH * 2) return gen(target, ctx, name, index, depth + 1);
  }
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[index % schema.enum.length];
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alts = schema[key];
    if (Array.isArray(alts) && alts.length > 0) return gen(alts[0], ctx, name, index, depth + 1);
  }
  if (Array.isArray(schema.allOf)) return gen(mergeAllOf(schema, ctx), ctx, name, index, depth + 1);

  switch (pickType(schema)) {
    case 'object':
      return objectValue(schema, ctx, index, depth);
    case 'array':
      return arrayValue(schema, ctx, name, depth);
    case 'integer':
      return numberValue(schema, index, true);
    case 'number':
      return numberValue(schema, index, false);
    case 'boolean':
      return index % 2 === 0;
    case 'null':
      return null;
    default:
      return stringValue(schema, ctx, name, index);
  }
}

function objectValue(schema: Schema, ctx: Ctx, index: number, depth: number): Record<string, unknown> {
  const props = isObj(schema.properties) ? schema.properties : {};
  const required = stringArray(schema.required);
  const atLimit = depth >= MAX_DEPTH;
  const out: Record<string, unknown> = {};
  // defineProperty: a property literally named "__proto__" must become data, not a prototype swap.
  const set = (k: string, v: unknown): void => {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  for (const [key, sub] of Object.entries(props)) {
    if (atLimit && !required.includes(key)) continue;
    const scripted = ctx.fields?.[key];
    set(key, scripted ? scripted[index % scripted.length] : gen(sub, ctx, key, index, depth + 1));
  }
  for (const key of required) {
    if (!Object.prototype.hasOwnProperty.call(out, key)) set(key, gen({}, ctx, key, index, depth + 1));
  }
  const minProps = nonNegInt(schema.minProperties) ?? 0;
  const extra = isObj(schema.additionalProperties) ? schema.additionalProperties : {};
  for (let i = 0; Object.keys(out).length < minProps && schema.additionalProperties !== false; i++) {
    set(`extra_${i + 1}`, gen(extra, ctx, `extra_${i + 1}`, index, depth + 1));
  }
  return out;
}

function describedLimit(description: unknown, key: string): number | undefined {
  if (typeof description !== 'string') return undefined;
  const m = new RegExp(`\\b${key}: (\\d+)`).exec(description);
  return m ? Number(m[1]) : undefined;
}

function arrayValue(schema: Schema, ctx: Ctx, name: string, depth: number): unknown[] {
  const min = nonNegInt(schema.minItems) ?? 0;
  // The SDK's zodOutputFormat moves constraints the API cannot enforce into the description
  // ("{maxItems: 4}"); the real model reads and follows them, so the simulator does too.
  const max = nonNegInt(schema.maxItems) ?? describedLimit(schema.description, 'maxItems');
  const prefix = Array.isArray(schema.prefixItems)
    ? schema.prefixItems
    : Array.isArray(schema.items)
      ? schema.items
      : [];
  const rest: unknown = Array.isArray(schema.items) ? schema.additionalItems : schema.items;
  let count = depth >= MAX_DEPTH ? min : max !== undefined ? max : Math.max(min, ctx.arrayItems);
  if (rest === false) count = Math.min(count, prefix.length);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const itemSchema = i < prefix.length ? prefix[i] : rest === undefined || rest === true ? {} : rest;
    out.push(gen(itemSchema, ctx, name, i, depth + 1));
  }
  return out;
}

function numberValue(schema: Schema, index: number, integer: boolean): number {
  let lo = -Infinity;
  let hi = Infinity;
  let loOpen = false;
  let hiOpen = false;
  const min = num(schema.minimum);
  const max = num(schema.maximum);
  if (min !== undefined) lo = min;
  if (max !== undefined) hi = max;
  // Draft 2020-12 uses numbers for exclusive bounds, draft-04 used booleans on minimum/maximum.
  const xmin = schema.exclusiveMinimum;
  const xmax = schema.exclusiveMaximum;
  if (typeof xmin === 'number' && xmin >= lo) [lo, loOpen] = [xmin, true];
  else if (xmin === true && min !== undefined) loOpen = true;
  if (typeof xmax === 'number' && xmax <= hi) [hi, hiOpen] = [xmax, true];
  else if (xmax === true && max !== undefined) hiOpen = true;

  let v = index + 1;
  if (integer) {
    const ilo = loOpen ? Math.floor(lo) + 1 : Math.ceil(lo);
    const ihi = hiOpen ? Math.ceil(hi) - 1 : Math.floor(hi);
    v = Math.min(Math.max(v, ilo), ihi);
  } else {
    if (v < lo || (loOpen && v === lo)) v = loOpen ? (Number.isFinite(hi) ? (lo + hi) / 2 : lo + 1) : lo;
    if (v > hi || (hiOpen && v === hi)) v = hiOpen ? (Number.isFinite(lo) ? (lo + hi) / 2 : hi - 1) : hi;
  }
  const step = num(schema.multipleOf);
  if (step !== undefined && step > 0) {
    const up = Math.ceil(v / step) * step;
    const down = Math.floor(v / step) * step;
    v = up <= hi && !(hiOpen && up === hi) ? up : down;
    if (integer) v = Math.round(v);
  }
  return v;
}

function stringValue(schema: Schema, ctx: Ctx, name: string, index: number): string {
  const n = index + 1;
  let s: string;
  switch (schema.format) {
    case 'date-time':
      s = `2026-01-${String(Math.min(n, 28)).padStart(2, '0')}T12:00:00Z`;
      break;
    case 'date':
      s = `2026-01-${String(Math.min(n, 28)).padStart(2, '0')}`;
      break;
    case 'time':
      s = '12:00:00Z';
      break;
    case 'email':
      s = `${slug(name)}${n}@example.com`;
      break;
    case 'uri':
    case 'url':
      s = `https://example.com/${slug(name)}/${n}`;
      break;
    case 'uuid': {
      const h = shortHash(`${name}:${n}:${ctx.words}`, 32);
      s = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
      break;
    }
    case 'ipv4':
      s = `192.0.2.${Math.min(n, 254)}`;
      break;
    default:
      s = `${name} ${n}: ${ctx.words}`;
  }
  const minLen = nonNegInt(schema.minLength);
  const maxLen = nonNegInt(schema.maxLength);
  let cps = Array.from(s);
  if (minLen !== undefined && cps.length < minLen) {
    const filler = Array.from(` ${ctx.words}`);
    while (cps.length < minLen) cps = cps.concat(filler);
  }
  if (maxLen !== undefined && cps.length > maxLen) cps = cps.slice(0, maxLen);
  return cps.join('');
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'item'
  );
}
