/**
 * One check for job text, whatever path it came by (command line, text file, .json job, JSONL
 * line, the TS API): the schema applies it, so every path refuses the same content. Pure, so the
 * workflow's copy of the schema applies it too.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` is not clean Unicode text, or null when it is. */
export function textProblem(text: string): string | null {
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return `contains a NUL character (U+0000) at position ${nul}`;
  const lone = LONE_SURROGATE.exec(text);
  if (lone) {
    const code = lone[0].charCodeAt(0).toString(16).toUpperCase();
    return `contains a lone surrogate (U+${code}) at position ${lone.index}: not valid Unicode text`;
  }
  // Node decodes command-line arguments with replacement: invalid UTF-8 arrives as U+FFFD.
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) return `contains U+FFFD at position ${bad}: the text was not valid UTF-8`;
  return null;
}
