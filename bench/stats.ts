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

/** "1.03 (1.01–1.08)" with the given number of decimals. */
export function fmt(s: Stat, digits = 2, unit = ''): string {
  const f = (x: number) => `${x.toFixed(digits)}${unit}`;
  return s.runs === 1 ? `${f(s.median)} (1 run)` : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
