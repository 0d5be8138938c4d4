/**
 * RENGA_RATE_LIMITS (shared/config.ts): optional explicit limits per model family, or "off" (no
 * admission at all). Apart from shared/rate-limits.ts so that workflow code, which uses the
 * arithmetic there, never evaluates zod.
 */
import { z } from 'zod';

export const FamilyLimitsSchema = z.strictObject({
  rpm: z.number().positive().optional(),
  itpm: z.number().positive().optional(),
  otpm: z.number().positive().optional(),
});
export type FamilyLimits = z.infer<typeof FamilyLimitsSchema>;
export const RateLimitsSettingSchema = z.union([
  z.literal('off'),
  z.record(
    z
      .string()
      .min(1)
      .regex(/^[a-z0-9][a-z0-9.\-_:@]*$/i, 'a model family (haiku, sonnet, opus) or model id'),
    FamilyLimitsSchema,
  ),
]);
export type RateLimitsSetting = z.infer<typeof RateLimitsSettingSchema>;
