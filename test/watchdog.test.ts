/**
 * The model stream's idle watchdog (activities/idle-watchdog.ts) through the real SDK and real HTTP,
 * with the simulator in its own process so that it keeps streaming while this one is paused.
 * A pause of the calling process is not a stall (the answer is not paid for twice); a stream that
 * really sends nothing still is.
 */
import path from 'node:path';
import { callModel, createAnthropicClient } from '../activities/llm';
import { StreamStalledError } from '../activities/errors';
import { spawnUntilReady, type ReadyProcess } from '../shared/spawn-ready';
import { REPO } from './helpers/stack';

let sim: ReadyProcess;
let url: string;

beforeAll(async () => {
  sim = await spawnUntilReady(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'simulator', 'main.ts'), '--port', '0', '--stream-chunk-delay-ms', '5'],
    { cwd: REPO, ready: 'simulator listening on', what: 'simulator' },
  );
  url = /simulator listening on (\S+)/.exec(sim.output())![1]!;
});
afterAll(() => sim.kill('SIGTERM'));

async function control(route: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/_sim/${route}`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

async function outcomesOf(marker: string): Promise<string[]> {
  const log = (await (await fetch(`${url}/_sim/log`)).json()) as { lastUserText: string; outcome: string }[];
  return log.filter((e) => e.lastUserText.includes(marker)).map((e) => e.outcome);
}

const ask = (marker: string) => ({
  model: 'claude-haiku-4-5',
  system: 'You answer briefly.',
  messages: [{ role: 'user' as const, content: `Describe tides ${marker}` }],
  maxTokens: 1000,
});

/** Holds this process's event loop, as a long GC or a starved CPU would. */
function pauseThisProcess(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

test('a pause of the calling process longer than the idle limit is not a stall', async () => {
  const marker = `pause-${process.pid}-${Date.now()}`;
  // ~80 deltas 5 ms apart: the simulator is still streaming when the pause begins.
  await control('answers', { match: { textIncludes: marker }, lengthTokens: 400 });
  const client = createAnthropicClient({ apiKey: 'sim-key', baseURL: url });

  const answer = callModel(client, ask(marker), { idleMs: 300 });
  // The pause starts from the check phase, so the next thing the loop runs after it is the timers
  // phase, where a plain timer would call the stream stalled before reading what had arrived.
  setImmediate(() => pauseThisProcess(1500));

  const { text, stopReason } = await answer;
  expect(text).toHaveLength(1600);
  expect(stopReason).toBe('end_turn');
  expect(await outcomesOf(marker)).toEqual(['ok']);
});

test('a stream that sends nothing is still abandoned', async () => {
  const marker = `stall-${process.pid}-${Date.now()}`;
  await control('script', { kind: 'stall', times: 1 });
  const client = createAnthropicClient({ apiKey: 'sim-key', baseURL: url });

  const err = await callModel(client, ask(marker), { idleMs: 300 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StreamStalledError);
  expect((err as StreamStalledError).idleMs).toBe(300);
  expect(await outcomesOf(marker)).toEqual(['fault']);
});
