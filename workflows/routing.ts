/**
 * The routing policy: the planner gives each subtask a tier, the policy maps tiers to models.
 * `fast` → the worker model (Haiku 4.5 by default), `strong` → the planner's model (Sonnet).
 * `route: 'off'` pins every subtask to the worker model. Workflow-safe.
 */
import type { JobInput, Subtask, Tier } from '../shared/schemas';

export interface TierModels {
  fast: string;
  strong: string;
}

export function tierOf(subtask: Subtask, route: JobInput['route']): Tier {
  return route === 'off' ? 'fast' : (subtask.tier ?? 'fast');
}

export function modelForSubtask(subtask: Subtask, route: JobInput['route'], models: TierModels): string {
  return tierOf(subtask, route) === 'strong' ? models.strong : models.fast;
}
