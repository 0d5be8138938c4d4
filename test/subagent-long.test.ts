/**
 * A 50-turn sub-agent: its history stays small because the conversation travels by reference, and the
 * moving cache breakpoint makes each turn read the turns before it from the prompt cache.
 */
import { temporal } from '@temporalio/proto';
import { getResult, startJob } from '../client/api';
import { subagentWorkflowId } from '../workflows/subagent-definitions';
import { agentCalls } from './helpers/agents';
import { useStack } from './helpers/stack';

const stack = useStack();
const EventType = temporal.api.enums.v1.EventType;

test('50 turns: event count and sizes stay small, cache reads grow every turn', async () => {
  const marker = `long-${Date.now()}`;
  // Large enough (~5,000 tokens) that Haiku's 4,096-token minimum lets the prefix be cached from turn 1.
  const manual = 'The pump must be primed before each start; the filter is cleaned weekly. '.repeat(270);
  const id = await startJob(stack.rc, {
    job: `Count the words of the manual, again and again (${marker}) [sim:tool-turns=49]`,
    context: [{ name: 'manual.txt', content: manual }],
    maxSubtasks: 1,
    tools: ['word_count'],
    maxTurns: 50,
  });
  const doc = await getResult(stack.rc, id);
  expect(doc.status).toBe('completed');
  const s1 = doc.subtasks[0]!;
  expect(s1.turns).toBe(50);
  expect(s1.toolCalls).toHaveLength(49);

  // Cache: turn 1 writes the prefix; from turn 2 on each turn reads more than the one before.
  const turns = agentCalls(stack.sim, id).sort((a, b) => a.turn - b.turn);
  expect(turns.map((t) => t.turn)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  const reads = turns.map((t) => t.entry.usage!.cache_read_input_tokens!);
  const writes = turns.map((t) => t.entry.usage!.cache_creation_input_tokens!);
  expect(reads[0]).toBe(0);
  expect(writes[0]).toBeGreaterThan(4_096);
  for (let k = 1; k < 50; k++) {
    expect(reads[k]).toBeGreaterThan(reads[k - 1]!);
    // Only the new turn is written, so fresh input stays small while the conversation grows.
    expect(turns[k]!.entry.usage!.input_tokens).toBeLessThan(200);
  }
  expect(s1.usage.cacheReadTokens).toBe(reads.reduce((a, b) => a + b, 0));
  expect(s1.usage.cacheWriteTokens).toBe(writes.reduce((a, b) => a + b, 0));

  // History: ~6 events per activity, and no payload grows with the conversation.
  const history = await stack.client.workflow.getHandle(subagentWorkflowId(id, 's1')).fetchHistory();
  const events = history.events ?? [];
  expect(events.length).toBeLessThan(1_000);
  const inputs = events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    .map((e) => Buffer.byteLength(JSON.stringify(e.activityTaskScheduledEventAttributes?.input ?? null)));
  const outputs = events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    .map((e) => Buffer.byteLength(JSON.stringify(e.activityTaskCompletedEventAttributes?.result ?? null)));
  expect(inputs).toHaveLength(99);
  expect(outputs).toHaveLength(99);
  // The last turn's input is no bigger than the second's: a key, not the conversation.
  const turnInputs = inputs.filter((_, i) => i % 2 === 0);
  expect(turnInputs[49]!).toBeLessThanOrEqual(turnInputs[1]! + 64);
  expect(Math.max(...inputs, ...outputs)).toBeLessThan(4_096);
  const bytes = temporal.api.history.v1.History.encode(history as temporal.api.history.v1.History).finish().length;
  expect(bytes).toBeLessThan(400_000);
  // Passing the conversation by value would have put every turn's whole prompt into the history.
  const byValue = turns.reduce(
    (n, t) =>
      n +
      4 *
        (t.entry.usage!.input_tokens +
          t.entry.usage!.cache_read_input_tokens! +
          t.entry.usage!.cache_creation_input_tokens!),
    0,
  );
  expect(bytes).toBeLessThan(byValue / 4);
});
