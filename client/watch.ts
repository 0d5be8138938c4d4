/**
 * `renga watch`: follows a job until it ends. On a terminal: a progress bar (cli-progress) with
 * per-subtask events scrolling above it; elsewhere (pipes, CI logs): one plain line per change.
 * Leaving (Ctrl-C) only stops watching: the job keeps running on the server.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import pc from 'picocolors';
import { agentText } from './agent-progress';
import { getLiveProgress, getResult, uiLink, type LiveProgress, type RengaClient } from './api';
import { describeRateLimitWait } from './rate-limit-status';
import type { ResultDocument } from '../shared/schemas';

export interface WatchOptions {
  tty: boolean;
  write: (line: string) => void;
  /** Display refresh period; the job's progress is read from the workflow each time. */
  intervalMs: number;
}

/** One line per subtask state as it changes: the text both modes print. */
export function describeSubtask(
  id: string,
  title: string,
  state: string,
  attempt: number | null,
  error: string | null,
  /** Sub-agents: the live turn while running, turns and tool calls once ended. */
  agent: Parameters<typeof agentText>[0] = {},
): string {
  const loop = agentText(agent);
  switch (state) {
    case 'running':
      return `${id} running (attempt ${attempt ?? 1})${loop}${error ? ` — last error: ${error}` : ''}: ${title}`;
    case 'completed':
      return `${id} done${loop}: ${title}`;
    case 'failed':
      return `${id} failed${loop}: ${title} — ${error ?? 'unknown error'}`;
    default:
      return `${id} ${state}: ${title}`;
  }
}

function tokens(p: LiveProgress['progress']): string {
  return `${p.tokens.input.toLocaleString('en-US')} in / ${p.tokens.output.toLocaleString('en-US')} out tokens`;
}

function summaryLine(p: LiveProgress): string {
  const pr = p.progress;
  return `${pr.phase} · ${pr.completed}/${pr.total} done${pr.failed ? ` · ${pr.failed} failed` : ''} · ${pr.running} running · ${tokens(pr)} · $${pr.costUsd.toFixed(4)}`;
}

export async function watchJob(rc: RengaClient, workflowId: string, opts: WatchOptions): Promise<ResultDocument> {
  const seen = new Map<string, string>();
  let lastSummary = '';
  let lastWait = '';
  const color = opts.tty ? pc : pc.createColors(false);
  // A MultiBar with one bar: it can print log lines above the bar without breaking it.
  const bars = opts.tty
    ? new MultiBar({
        format: `${color.cyan('{bar}')} {value}/{total} · {phase} · {tokens} · \${cost}`,
        hideCursor: true,
        clearOnComplete: false,
      })
    : null;
  let bar: SingleBar | null = null;
  opts.write(`watching ${workflowId} — ${uiLink(rc.config, workflowId)}`);

  const show = (line: string) => (bars && bar ? bars.log(`${line}\n`) : opts.write(line));
  try {
    for (;;) {
      let live: LiveProgress | null = null;
      try {
        live = await getLiveProgress(rc, workflowId);
      } catch (err) {
        // A closed job whose worker is gone cannot answer queries: its result still can.
        if (!(await isClosed(rc, workflowId))) throw err;
      }
      if (live) {
        for (const s of live.progress.subtasks) {
          const l = live.live[s.id];
          const attempt = s.state === 'running' ? (l?.attempt ?? 1) : s.attempts;
          const line = describeSubtask(
            s.id,
            s.title,
            s.state,
            attempt,
            s.state === 'running' ? (l?.lastError ?? null) : s.error,
            s.state === 'running' ? (l?.agent ?? {}) : s,
          );
          if (seen.get(s.id) !== line && s.state !== 'queued') {
            seen.set(s.id, line);
            const paint = s.state === 'completed' ? color.green : s.state === 'failed' ? color.red : color.dim;
            show(paint(line));
          }
        }
        // Said once when the job starts (or stops) waiting on the rate limit, not on every refresh.
        const wait = live.rateLimit ? describeRateLimitWait(live.rateLimit) : '';
        if (wait.replace(/\d+/g, '#') !== lastWait.replace(/\d+/g, '#'))
          show(color.yellow(wait || 'no longer waiting on the rate limit'));
        lastWait = wait;
        const summary = summaryLine(live);
        if (bars) {
          if (!bar && live.progress.total > 0)
            bar = bars.create(live.progress.total, 0, { phase: live.progress.phase, tokens: '', cost: '0.0000' });
          bar?.update(live.progress.completed + live.progress.failed, {
            phase: live.progress.phase,
            tokens: tokens(live.progress),
            cost: live.progress.costUsd.toFixed(4),
          });
        } else if (summary !== lastSummary) {
          opts.write(`progress: ${summary}`);
        }
        lastSummary = summary;
      }
      if (!live || live.execution !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
  } finally {
    // Logged lines wait for the next redraw: force one so the last states are not lost on stop.
    bars?.update();
    bars?.stop();
  }
  const doc = await getResult(rc, workflowId);
  const paint = doc.status === 'completed' ? color.green : doc.status === 'partial' ? color.yellow : color.red;
  const done = doc.subtasks.filter((s) => s.status === 'completed').length;
  opts.write(
    paint(
      `${workflowId}: ${doc.status} · ${done}/${doc.subtasks.length} subtasks · $${doc.usage.costUsd.toFixed(4)}${doc.error ? ` · ${doc.error}` : ''}`,
    ),
  );
  return doc;
}

async function isClosed(rc: RengaClient, workflowId: string): Promise<boolean> {
  const d = await rc.client.workflow.getHandle(workflowId).describe();
  return d.status.name !== 'RUNNING';
}
