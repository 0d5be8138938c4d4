/**
 * Section 6, sub-agents: the per-turn overhead of a durable tool loop, measured the way the fan-out
 * overhead is. Each sub-agent (workflows/subagent.ts) runs `turns` model turns at a fixed simulated
 * latency L, with a tool call (the built-in `word_count`, which takes no time) between two turns; every
 * turn and every tool call is its own activity. Ratio = the sub-agent's makespan (its child workflow's
 * start → close, the server's clock) ÷ (turns · L): 1.000 would mean a turn costs exactly one model call.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import { subagentWorkflowId } from '../workflows/subagent-definitions';
import { stat, type Stat } from './stats';
import type { Profile } from './profiles';
import { type Ctx, log, newQueue, runJob, setLatency, spawnWorker, stopWorkers } from './context';

export interface SubagentResult {
  latencyMs: number;
  toolTurns: number;
  agents: number;
  /** Model turns per sub-agent (tool turns + the answer). */
  turns: number;
  /** Sub-agent makespan ÷ (turns · L), over every sub-agent of every run. */
  ratio: Stat;
  /** (makespan − turns · L) ÷ turns: what durability adds to each turn, in ms (model turn + tool call). */
  perTurnMs: Stat;
  /** History events per turn of one sub-agent (its child workflow). */
  eventsPerTurn: number;
}

export async function subagentSection(ctx: Ctx, p: Profile['subagent']): Promise<SubagentResult> {
  setLatency(ctx, p.latencyMs, 100);
  const q = newQueue('subagent');
  const workers = [await spawnWorker(ctx, q, 100)];
  const ratios: number[] = [];
  const perTurn: number[] = [];
  let eventsPerTurn = 0;
  const turns = p.toolTurns + 1;
  try {
    for (let i = 0; i < p.runs; i++) {
      const { id, doc } = await runJob(ctx, q, {
        job: `Sub-agent bench run ${i}: count the words of each note [sim:tool-turns=${p.toolTurns}]`,
        maxSubtasks: p.agents,
        concurrency: p.agents,
        tools: ['word_count'],
        maxTurns: turns,
        route: 'off',
      });
      for (const s of doc.subtasks) {
        if (s.turns !== turns) throw new Error(`sub-agent ${id}/${s.id} ran ${s.turns} turns, expected ${turns}`);
        const history = await ctx.client.workflow.getHandle(subagentWorkflowId(id, s.id)).fetchHistory();
        const events = history.events ?? [];
        const ms = tsToMs(events.at(-1)!.eventTime) - tsToMs(events[0]!.eventTime);
        ratios.push(ms / (turns * p.latencyMs));
        perTurn.push((ms - turns * p.latencyMs) / turns);
        eventsPerTurn = events.length / turns;
      }
      log(`subagent run ${i}: ${ratios.slice(-p.agents).map((r) => r.toFixed(3))}`);
    }
  } finally {
    await stopWorkers(workers);
  }
  return {
    latencyMs: p.latencyMs,
    toolTurns: p.toolTurns,
    agents: p.agents,
    turns,
    ratio: stat(ratios),
    perTurnMs: stat(perTurn),
    eventsPerTurn,
  };
}
