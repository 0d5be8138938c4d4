/**
 * The documented example of a TypeScript tool (see README, "Sub-agents with tools"): counts words,
 * lines and characters of a text the model passes in. Registered on every worker as `word_count`.
 */
import { z } from 'zod';
import { defineTool } from './define';

export const wordCount = defineTool({
  name: 'word_count',
  description: 'Counts the words, lines and characters of a text. Use it instead of counting by hand.',
  input: z.object({ text: z.string().describe('the text to count') }),
  run: ({ text }) => {
    const words = text.split(/\s+/).filter(Boolean).length;
    const lines = text === '' ? 0 : text.split('\n').length;
    return JSON.stringify({ words, lines, characters: Array.from(text).length });
  },
});
