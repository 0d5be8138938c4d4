/** The job page's "current details" in the Web UI: status and the plan as a Markdown table. */
import type { Plan, Progress } from '../shared/schemas';

const STATE_LABEL: Record<string, string> = {
  queued: 'queued',
  running: 'running',
  completed: 'done',
  failed: '**failed**',
  skipped: 'skipped',
};

const MAX_ROWS = 200;

function cell(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function detailsMarkdown(p: Progress, plan: Plan | null, job: string): string {
  const head = [
    `**Job:** ${cell(job, 300)}`,
    '',
    `**Phase:** ${p.phase}${p.status ? ` · **status:** ${p.status}` : ''} · **subtasks:** ${p.completed}/${p.total} done` +
      `${p.failed ? `, ${p.failed} failed` : ''} · **cost:** $${p.costUsd.toFixed(4)}` +
      (p.budget
        ? ` of a **$${p.budget.limitUsd} budget**${p.budget.exhausted ? ' (**exhausted**: remaining subtasks skipped)' : ''}`
        : ''),
  ];
  if (p.phase === 'awaiting-approval') {
    head.push('', '**Waiting for plan approval:** `renga approve <id>` or `renga reject <id> --reason …`');
  }
  if (!plan) return head.join('\n');
  // Rebuilt on every change and shown in a browser: a few hundred rows is what a person reads.
  const shown = plan.subtasks.slice(0, MAX_ROWS);
  const byId = new Map(p.subtasks.map((t) => [t.id, t]));
  const rows = shown.map((s) => {
    const t = byId.get(s.id);
    return `| ${s.id} | ${cell(s.title, 80)} | ${STATE_LABEL[t?.state ?? 'queued']} | ${t?.attempts ?? 0} | ${cell(s.instructions)} |`;
  });
  const more =
    plan.subtasks.length > MAX_ROWS
      ? ['', `…and ${plan.subtasks.length - MAX_ROWS} more subtasks (\`renga status <id>\`)`]
      : [];
  return [
    ...head,
    '',
    '| id | subtask | state | attempts | instructions |',
    '|---|---|---|---|---|',
    ...rows,
    ...more,
  ].join('\n');
}
