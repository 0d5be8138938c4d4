/** `renga result <id> --transcript <subtask>`: one sub-agent's conversation, read from the blob store. */
import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import type { Transcript, TranscriptTurn } from '../activities/conversation';
import type { BlobStore } from '../shared/blobs/blob-store';
import type { ResultDocument } from '../shared/schemas';
import { UsageError } from './cli-kit';

/** Blocks longer than this are shortened on screen (--json prints everything). */
const SHOW_CHARS = 2_000;

export async function loadTranscript(doc: ResultDocument, subtaskId: string, blobs: BlobStore): Promise<Transcript> {
  const s = doc.subtasks.find((x) => x.id === subtaskId);
  if (!s)
    throw new UsageError(
      `--transcript ${subtaskId}: the job has no subtask ${subtaskId} (it has ${doc.subtasks.map((x) => x.id).join(', ') || 'none'})`,
    );
  if (!s.transcriptRef)
    throw new UsageError(
      `--transcript ${subtaskId}: subtask ${subtaskId} was not run by a sub-agent with tools, so it has no transcript`,
    );
  const text = await blobs.get(s.transcriptRef);
  if (text === null) {
    throw new UsageError(
      `--transcript ${subtaskId}: the transcript (${s.transcriptRef}) is not in ${blobs.location}; use the blob store the workers use (RENGA_BLOB_URL / RENGA_BLOB_DIR)`,
    );
  }
  return JSON.parse(text) as Transcript;
}

export function formatTranscript(t: Transcript): string {
  const cost = t.turns.reduce((n, x) => n + x.costUsd, 0);
  const lines = [
    `# ${t.subtaskId} · ${t.turns.length} turns · tools: ${t.tools.join(', ') || 'none'} · $${cost.toFixed(4)}`,
  ];
  let turn = 0;
  for (const m of t.messages) {
    if (m.role === 'assistant') {
      const usage = t.turns[turn];
      turn++;
      lines.push(`\n## turn ${turn} · assistant${usage ? ` · ${usageText(usage)}` : ''}`);
    } else {
      lines.push(`\n## ${turn === 0 ? 'user' : `after turn ${turn} · user`}`);
    }
    lines.push(...blocks(m).map(blockText));
  }
  return `${lines.join('\n')}\n`;
}

function usageText(t: TranscriptTurn): string {
  const u = t.usage;
  return `${u.inputTokens} in · ${u.cacheReadTokens} cache read · ${u.cacheWriteTokens} cache write · ${u.outputTokens} out · $${t.costUsd.toFixed(4)} · ${t.stopReason ?? '?'}`;
}

function blocks(m: MessageParam): ContentBlockParam[] {
  return typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as ContentBlockParam[]);
}

function blockText(b: ContentBlockParam): string {
  switch (b.type) {
    case 'text':
      return short(b.text);
    case 'tool_use':
      return `→ ${b.name} ${JSON.stringify(b.input)}`;
    case 'tool_result': {
      const body =
        typeof b.content === 'string'
          ? b.content
          : (b.content ?? []).map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
      return `← ${b.is_error ? 'error' : 'result'}: ${short(body)}`;
    }
    default:
      return `[${b.type}]`;
  }
}

function short(text: string): string {
  return text.length > SHOW_CHARS
    ? `${text.slice(0, SHOW_CHARS)}… [${text.length - SHOW_CHARS} more characters]`
    : text;
}
