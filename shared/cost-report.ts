/**
 * What a job's calls would have cost all on the strong model, and where the difference came from.
 * From the API's own token counts: each call's billed input (fresh + cache writes + cache reads) and
 * output, re-priced step by step so the three savings add up to allStrong − actual:
 *   routing = all tokens on the strong model, no cache  −  the same on the models actually used;
 *   caching = that, no cache  −  the same with cache writes and reads as billed;
 *   batches = that, list price  −  what was charged (Message Batches at half price).
 */
import { costUsd, roundUsd } from './pricing';
import type { CallUsage, CostReport } from './schemas';

export function costReport(calls: readonly CallUsage[], strongModel: string): CostReport {
  let actual = 0;
  let listPrice = 0;
  let noCache = 0;
  let allStrong = 0;
  for (const c of calls) {
    const u = c.usage;
    const flat = {
      inputTokens: u.inputTokens + u.cacheWriteTokens + u.cacheReadTokens,
      outputTokens: u.outputTokens,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    };
    actual += c.costUsd;
    listPrice += costUsd(c.model, u);
    noCache += costUsd(c.model, flat);
    allStrong += costUsd(strongModel, flat);
  }
  return {
    strongModel,
    actualUsd: roundUsd(actual),
    allStrongUsd: roundUsd(allStrong),
    ratio: allStrong > 0 ? Math.round((actual / allStrong) * 1000) / 1000 : 0,
    savingsUsd: {
      routing: roundUsd(allStrong - noCache),
      caching: roundUsd(noCache - listPrice),
      batches: roundUsd(listPrice - actual),
    },
  };
}
