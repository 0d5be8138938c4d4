/**
 * renga's custom search attributes: what the Web UI's workflow list and `renga list` filter on,
 * e.g. `RengaPhase = "fanout" and RengaCostUsd > 0.5`. Pure definitions, safe in workflow code.
 * They must be registered on the server once (`npm run dev` and the tests do it; in production:
 * `temporal operator search-attribute create --name RengaPhase --type Keyword`, and so on).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RengaPhase = defineSearchAttributeKey('RengaPhase', SearchAttributeType.KEYWORD);
export const RengaStatus = defineSearchAttributeKey('RengaStatus', SearchAttributeType.KEYWORD);
export const RengaSubtasksTotal = defineSearchAttributeKey('RengaSubtasksTotal', SearchAttributeType.INT);
export const RengaSubtasksDone = defineSearchAttributeKey('RengaSubtasksDone', SearchAttributeType.INT);
export const RengaCostUsd = defineSearchAttributeKey('RengaCostUsd', SearchAttributeType.DOUBLE);
export const RengaPlannerModel = defineSearchAttributeKey('RengaPlannerModel', SearchAttributeType.KEYWORD);
export const RengaWorkerModel = defineSearchAttributeKey('RengaWorkerModel', SearchAttributeType.KEYWORD);
/** Set on jobs with a budget: true once the budget stopped the fan-out (`RengaBudgetExhausted = true`). */
export const RengaBudgetExhausted = defineSearchAttributeKey('RengaBudgetExhausted', SearchAttributeType.BOOL);
/** Jobs made by `renga redo`: the workflow id of the job they redo (`RengaRedoOf = "<id>"`). */
export const RengaRedoOf = defineSearchAttributeKey('RengaRedoOf', SearchAttributeType.KEYWORD);

/** Name → type, as the `temporal` CLI spells the types (dev server flags, operator commands, docs). */
export const RENGA_SEARCH_ATTRIBUTES = {
  RengaPhase: 'Keyword',
  RengaStatus: 'Keyword',
  RengaSubtasksTotal: 'Int',
  RengaSubtasksDone: 'Int',
  RengaCostUsd: 'Double',
  RengaPlannerModel: 'Keyword',
  RengaWorkerModel: 'Keyword',
  RengaBudgetExhausted: 'Bool',
  RengaRedoOf: 'Keyword',
} as const;
