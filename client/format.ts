/** Human-readable renderings of progress and results for the CLI (`--json` prints the raw documents). */
import type { Progress, ResultDocument } from '../shared/schemas';

export function formatProgress(workflowId: string, status: string, p: Progress | null): string {
  const lines = [`${workflowId}: ${status}`];
  if (!p) return lines.join('\n');
  lines.push(
    `phase ${p.phase} · ${p.completed}/${p.total} done · ${p.failed} failed · ${p.running} running · $${p.costUsd.toFixed(4)}` +
      budgetNote(p.budget) +
      (p.cancelRequested ? ' · cancel requested' : ''),
  );
  for (const s of p.subtasks) {
    const attempt = s.attempts > 1 ? ` (attempt ${s.attempts})` : '';
    lines.push(`  ${s.id.padEnd(4)} ${s.state.padEnd(9)} ${s.title}${attempt}${s.error ? ` — ${s.error}` : ''}`);
  }
  return lines.join('\n');
}

/** ` · budget $0.2100 of $0.50 (exhausted)` when the job has a budget. */
export function budgetNote(b: Progress['budget']): string {
  if (!b) return '';
  return ` · budget $${b.spentUsd.toFixed(4)} of $${b.limitUsd}${b.exhausted ? ' (exhausted)' : ''}`;
}

/** What routing, caching and batches saved against running every call on the strong model. */
export function costLine(doc: ResultDocument): string | null {
  const r = doc.costReport;
  if (!r || r.allStrongUsd <= 0) return null;
  const s = r.savingsUsd;
  return `cost $${r.actualUsd.toFixed(4)} = ${r.ratio.toFixed(2)}× all-${r.strongModel} ($${r.allStrongUsd.toFixed(4)}); saved: routing $${s.routing.toFixed(4)}, caching $${s.caching.toFixed(4)}, batches $${s.batches.toFixed(4)}`;
}

export function formatResult(doc: ResultDocument): string {
  const done = doc.subtasks.filter((s) => s.status === 'completed').length;
  const head = `${doc.workflowId}: ${doc.status} · ${done}/${doc.subtasks.length} subtasks · $${doc.usage.costUsd.toFixed(4)}${budgetNote(doc.budget)}`;
  const parts = [head];
  if (doc.error) parts.push(`error: ${doc.error}`);
  if (doc.redo) {
    const { of, reused, redone, model } = doc.redo;
    const on = model ? ` on ${model}` : '';
    const again = redone.length ? `${redone.join(', ')}${on} and the synthesis` : `the synthesis${on}`;
    parts.push(
      `redo of ${of}: ran again ${again}; reused ${reused.length ? reused.join(', ') : 'nothing'} (not paid again)`,
    );
  }
  parts.push('', doc.answer ?? '(no answer)');
  // After the answer: what it cost against all-strong, and which subtasks needed the strong model.
  const cost = costLine(doc);
  const escalated = doc.subtasks.filter((s) => s.escalatedFrom);
  if (cost || escalated.length) parts.push('');
  if (cost) parts.push(cost);
  if (escalated.length)
    parts.push(`escalated: ${escalated.map((s) => `${s.id} (${s.escalatedFrom} → ${s.model})`).join(', ')}`);
  return parts.join('\n');
}
