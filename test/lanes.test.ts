/**
 * The fan-out's lanes without a promise per item (workflows/lanes.ts, runCallbackLanes), and the
 * queue-ahead slots two lanes share with the worker's handoffs (workflows/queue-ahead.ts,
 * activities/handoffs.ts): plain code, no server. The workflow paths that use them run in the job, shard, batch and replay suites.
 */
import { CallHandoffs } from '../activities/handoffs';
import type { CallGate, DeferredCall, SubtaskOutput } from '../activities/types';
import { inOrder, runCallbackLanes, type LaneEnd } from '../workflows/lanes';
import { callSlots } from '../workflows/queue-ahead';

const items = (n: number) => Array.from({ length: n }, (_, i) => i);

test('each lane takes its first item before the next lane starts, then the next item when its own ends', async () => {
  const started: string[] = [];
  const pending: Array<{ item: number; end: LaneEnd }> = [];
  const run = runCallbackLanes(3, inOrder(items(5)), (item, lane, end) => {
    started.push(`${item}@${lane}`);
    pending.push({ item, end });
  });
  expect(started).toEqual(['0@0', '1@1', '2@2']);
  // Lane 1's item ends first: lane 1 takes the next item at once, synchronously.
  pending.find((p) => p.item === 1)!.end.done();
  expect(started).toEqual(['0@0', '1@1', '2@2', '3@1']);
  for (const item of [0, 2, 3]) pending.find((p) => p.item === item)!.end.done();
  expect(started).toEqual(['0@0', '1@1', '2@2', '3@1', '4@0']);
  pending.find((p) => p.item === 4)!.end.done();
  await expect(run).resolves.toBeUndefined();
});

test('items that end synchronously run in a loop, not nested on the stack', async () => {
  let done = 0;
  await runCallbackLanes(2, inOrder(items(200_000)), (_item, _lane, end) => {
    done++;
    end.done();
  });
  expect(done).toBe(200_000);
});

test('a failure stops its lane and rejects; with waitForAll the other lanes finish first', async () => {
  const ended: number[] = [];
  const ends = new Map<number, LaneEnd>();
  const run = runCallbackLanes(
    2,
    inOrder(items(4)),
    (item, _lane, end) => {
      ends.set(item, {
        done: () => {
          ended.push(item);
          end.done();
        },
        fail: end.fail,
      });
    },
    { waitForAll: true },
  );
  ends.get(0)!.fail(new Error('boom'));
  // Lane 0 takes nothing more; lane 1 goes on through the rest.
  ends.get(1)!.done();
  ends.get(2)!.done();
  ends.get(3)!.done();
  expect(ended).toEqual([1, 2, 3]);
  await expect(run).rejects.toThrow('boom');
});

test('no lanes, or nothing to take: resolves at once', async () => {
  await expect(runCallbackLanes(0, inOrder(items(3)), () => undefined)).resolves.toBeUndefined();
  await expect(runCallbackLanes(4, inOrder([]), () => undefined)).resolves.toBeUndefined();
});

describe('queue-ahead slots (workflows/queue-ahead.ts)', () => {
  /** A slot's calls as the activity would see them: the gate sent, and a way to end each. */
  function recorder() {
    const sent: { gate: CallGate; end: (out: SubtaskOutput | DeferredCall) => void }[] = [];
    const send = (gate: CallGate) =>
      new Promise<SubtaskOutput | DeferredCall>((resolve) => sent.push({ gate, end: resolve }));
    return { sent, send };
  }
  const answer = (output: string): SubtaskOutput => ({
    output,
    attempt: 1,
    call: {
      model: 'm',
      usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: 0,
    },
  });
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  test("the first call holds the slot; the other lane's call follows it; the next follows that one", async () => {
    const slot = callSlots(1)(0);
    const { sent, send } = recorder();
    const a = slot.call(send);
    const b = slot.call(send);
    expect(sent.map((s) => s.gate)).toEqual([{ call: 1 }, { call: 2, after: 1 }]);
    sent[0]!.end(answer('a'));
    await expect(a).resolves.toMatchObject({ output: 'a' });
    // The slot passed to call 2: the first lane's next call follows it.
    const c = slot.call(send);
    expect(sent[2]!.gate).toEqual({ call: 3, after: 2 });
    sent[1]!.end(answer('b'));
    sent[2]!.end(answer('c'));
    await expect(Promise.all([b, c])).resolves.toMatchObject([{ output: 'b' }, { output: 'c' }]);
  });

  test('a handed-back call is sent again, following nothing, only once the call before it has ended', async () => {
    const slot = callSlots(1)(0);
    const { sent, send } = recorder();
    const a = slot.call(send);
    const b = slot.call(send);
    sent[1]!.end({ deferred: true });
    await tick();
    // Call 1 still runs: nothing is sent again yet, so the job never has two calls in this slot.
    expect(sent).toHaveLength(2);
    sent[0]!.end(answer('a'));
    await a;
    await tick();
    expect(sent[2]!.gate).toEqual({ call: 2 });
    sent[2]!.end(answer('b'));
    await expect(b).resolves.toMatchObject({ output: 'b' });
    // Queue-ahead pauses on this slot after a hand-back: the next call waits in the workflow.
    const c = slot.call(send);
    const d = slot.call(send);
    expect(sent.slice(3).map((s) => s.gate)).toEqual([{ call: 3 }]);
    sent[3]!.end(answer('c'));
    await c;
    await tick();
    expect(sent[4]!.gate).toEqual({ call: 4 });
    sent[4]!.end(answer('d'));
    await d;
  });

  test('a failed call frees the slot for the call behind it', async () => {
    const slot = callSlots(1)(0);
    const sent: { gate: CallGate; fail: (e: Error) => void; end: (o: SubtaskOutput) => void }[] = [];
    const send = (gate: CallGate) => new Promise<SubtaskOutput>((end, fail) => sent.push({ gate, end, fail }));
    const a = slot.call(send);
    const b = slot.call(send);
    sent[0]!.fail(new Error('no more attempts'));
    await expect(a).rejects.toThrow('no more attempts');
    const c = slot.call(send);
    expect(sent[2]!.gate).toEqual({ call: 3, after: 2 });
    sent[1]!.end(answer('b'));
    sent[2]!.end(answer('c'));
    await Promise.all([b, c]);
  });

  test("lanes i and i + C share slot i; call numbers are the run's", () => {
    const slotOf = callSlots(2);
    expect(slotOf(0)).toBe(slotOf(2));
    expect(slotOf(1)).toBe(slotOf(3));
    expect(slotOf(0)).not.toBe(slotOf(1));
    const { sent, send } = recorder();
    void slotOf(0).call(send);
    void slotOf(1).call(send);
    void slotOf(2).call(send);
    expect(sent.map((s) => s.gate)).toEqual([{ call: 1 }, { call: 2 }, { call: 3, after: 1 }]);
  });
});

describe('handoffs on the worker (activities/handoffs.ts)', () => {
  const never = new AbortController().signal;

  test('a call behind one running here starts when it ends well; behind a failed one it is handed back', async () => {
    const h = new CallHandoffs();
    const endA = h.begin('run:1');
    const waiting = h.waitFor('run:1', 60_000, never);
    endA(true);
    await expect(waiting).resolves.toBe('go');
    await expect(h.waitFor('run:1', 60_000, never)).resolves.toBe('go');
    const endB = h.begin('run:2');
    const behindB = h.waitFor('run:2', 60_000, never);
    endB(false);
    await expect(behindB).resolves.toBe('elsewhere');
  });

  test('the call it follows begins here a moment later: it waits for it; never begins here: handed back', async () => {
    const h = new CallHandoffs();
    const early = h.waitFor('run:7', 60_000, never);
    const end = h.begin('run:7');
    end(true);
    await expect(early).resolves.toBe('go');
    // Runs on another worker: never begins here.
    await expect(h.waitFor('run:8', 60_000, never)).resolves.toBe('elsewhere');
  });

  test('a worker with no slot to spare does not hold a waiting call, and hands back the newest wait when it fills', async () => {
    const h = new CallHandoffs(3);
    const end = h.begin('run:1');
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    // Two activities run: the call, and the one waiting behind it.
    const running = h.counted(() => holding);
    const waiting = h.counted(() => h.waitFor('run:1', 60_000, never));
    // A third activity fills the worker's three slots: the wait gives its slot back.
    const third = h.counted(() => Promise.resolve('third'));
    await expect(waiting).resolves.toBe('elsewhere');
    await third;
    const full = h.counted(async () => {
      const a = h.counted(() => holding);
      const verdict = await h.waitFor('run:1', 60_000, never);
      release();
      await a;
      return verdict;
    });
    await expect(full).resolves.toBe('busy');
    end(true);
    await running;
  });

  test('a cancelled wait ends at once', async () => {
    const h = new CallHandoffs();
    h.begin('run:1');
    const cancel = new AbortController();
    const waiting = h.waitFor('run:1', 60_000, cancel.signal);
    cancel.abort();
    await expect(waiting).resolves.toBe('elsewhere');
  });
});
