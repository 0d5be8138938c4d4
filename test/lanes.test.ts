/**
 * The fan-out's lanes without a promise per item (workflows/lanes.ts, runCallbackLanes): plain code,
 * no server. The workflow paths that use them run in the job, shard, batch and replay suites.
 */
import { inOrder, runCallbackLanes, type LaneEnd } from '../workflows/lanes';

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
