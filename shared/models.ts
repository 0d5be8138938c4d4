/**
 * The models a job may name: the Anthropic SDK's own list of model ids (its `Model` type; the
 * compile-time check below fails when an SDK upgrade adds one we lack) plus RENGA_EXTRA_MODELS for
 * models newer than the SDK. A name outside both is refused before anything starts, instead of a
 * job that fails on its first call.
 */
import type { Model } from '@anthropic-ai/sdk/resources/messages';

/** The string literals of the SDK's `Model` union (without its open-ended `string & {}`). */
type SdkModel = Model extends infer M ? (M extends string ? (string extends M ? never : M) : never) : never;

export const KNOWN_MODELS = [
  'claude-fable-5-2',
  'claude-mythos-5-2',
  'claude-haiku-5-5',
  'claude-sonnet-5-5',
  'claude-fable-5-1',
  'claude-opus-5-5',
  'claude-mythos-5-1',
  'claude-sonnet-5',
  'claude-fable-5',
  'claude-mythos-5',
  'claude-opus-5',
  'claude-opus-4-8',
  'claude-opus-4-7',
  'claude-mythos-preview',
  'claude-opus-4-6',
  'claude-sonnet-4-6',
  'claude-haiku-4-5',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-5',
  'claude-opus-4-5-20251101',
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
] as const satisfies readonly SdkModel[];

// Fails to compile when the SDK knows a model this list lacks.
const everySdkModelListed: [Exclude<SdkModel, (typeof KNOWN_MODELS)[number]>] extends [never] ? true : false = true;
void everySdkModelListed;

/** Why `model` is not one the API serves, or null. `extra`: RENGA_EXTRA_MODELS. */
export function modelProblem(model: string, extra: readonly string[]): string | null {
  if (model.trim() === '') return 'is empty';
  if ((KNOWN_MODELS as readonly string[]).includes(model) || extra.includes(model)) return null;
  return `'${model}' is not a model the Messages API serves (known: ${KNOWN_MODELS.filter((m) => !/-\d{8}$/.test(m)).join(', ')}); for a newer model, add it to RENGA_EXTRA_MODELS`;
}
