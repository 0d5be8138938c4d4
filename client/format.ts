/** Human-readable renderings of progress and results for the CLI (`--json` prints the raw documents). */
import type { Progress, ResultDocument } from '../shared/schemas';

export function formatProgress(workflowId: string, status: string, p: Progress | null): string {
  const lines = [`${workflowId}: ${status}`];
  if (!p) return lines.join('\n');
  lines.push(
    `phase ${p.phase} · ${p.completed}/${p.total} done · ${p.failed} failed · ${p.running} running · $${p.costUsd.toFixed(4)}` +
      (p.cancelRequested ? ' · cancel requested' : ''),
  );
  for (const s of p.subtasks) {
    const attempt = s.attempts > 1 ? ` (attempt ${s.attempts})` : '';
    lines.push(`  ${s.id.padEnd(4)} ${s.state.padEnd(9)} ${s.title}${attempt}${s.error ? ` — ${s.error}` : ''}`);
  }
  return lines.join('\n');
}

export function formatResult(doc: ResultDocument): string {
  const done = doc.subtasks.filter((s) => s.status === 'completed').length;
  const head = `${doc.workflowId}: ${doc.status} · ${done}/${doc.subtasks.length} subtasks · $${doc.usage.costUsd.toFixed(4)}`;
  const parts = [head];
  if (doc.error) parts.push(`error: ${doc.error}`);
  parts.push('', doc.answer ?? '(no answer)');
  return parts.join('\n');
}
