/** Median with min and max: the only summary the benchmark reports (noisy machine, few runs). */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function stat(xs: number[]): Stat {
  if (xs.length === 0) throw new Error('no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const at = (i: number): number => s[i]!; // in range: s is non-empty and i is clamped by construction
  const median = s.length % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
  return { median, min: at(0), max: at(s.length - 1), runs: s.length };
}

/** A distribution-free interval for the median: the order statistics a sign test puts around it. */
export interface Interval {
  lo: number;
  hi: number;
  /** Probability that the interval holds the true median (≥ the level asked for, unless too few samples). */
  coverage: number;
}

/**
 * The 95 % (by default) confidence interval of the median of `xs`, from the binomial distribution of
 * how many samples fall below it: no assumption about the noise's shape, which on a shared machine is
 * skewed (a burst from elsewhere only ever slows a run). With fewer than 6 samples no pair of order
 * statistics reaches 95 %, and the interval is the whole range, with its lower coverage.
 */
export function medianInterval(xs: number[], level = 0.95): Interval {
  const n = xs.length;
  if (n === 0) throw new Error('no samples');
  const s = [...xs].sort((a, b) => a - b);
  // P(X ≤ j) for X ~ Binomial(n, 1/2), j = 0…n.
  const cdf: number[] = [];
  let term = 0.5 ** n;
  let sum = 0;
  for (let j = 0; j <= n; j++) {
    sum += term;
    cdf.push(sum);
    term = (term * (n - j)) / (j + 1);
  }
  // The widest k (1-based order statistics k and n + 1 − k) whose interval still misses the median
  // with probability ≤ 1 − level: P(X ≤ k − 1) on each side.
  let k = 1;
  while (k + 1 <= n / 2 && cdf[k]! <= (1 - level) / 2) k++;
  return { lo: s[k - 1]!, hi: s[n - k]!, coverage: 1 - 2 * cdf[k - 1]! };
}

/** "1.03 (1.01–1.08)" with the given number of decimals. */
export function fmt(s: Stat, digits = 2, unit = ''): string {
  const f = (x: number) => `${x.toFixed(digits)}${unit}`;
  return s.runs === 1 ? `${f(s.median)} (1 run)` : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
