/**
 * CPU of rate-limit admission per model call (activities/admission.ts), in one process, without the
 * network: the same call admitted again and again on the fast path (books learned from the
 * simulator's headers, plenty of room), against the same calls with admission off. A job's shared
 * context travels in every call (the first block of its user turn), so its size is the parameter.
 *
 *   npx tsx bench/admission-cpu.ts [--shared-chars=200000] [--rounds=8]
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { Admission } from '../activities/admission';
import { requestLayout } from '../activities/layout';
import type { ModelAnswer, ModelCall } from '../activities/llm';
import { rateLimitHeaders } from '../simulator/errors';
import { stat, fmt } from './stats';

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);

const sharedChars = arg('shared-chars', 2_000);
const rounds = arg('rounds', 8);
/** Calls per round: well under half the simulator's 4,000 requests a minute, so every call takes the fast path. */
const CALLS = 1_000;

// A subtask's call as renga lays it out (activities/layout.ts): the shared block leads the user turn.
const call: ModelCall = {
  model: 'claude-haiku-4-5',
  ...requestLayout('x'.repeat(sharedChars), 'claude-haiku-4-5', 'Subtask 3 of 100: describe the third lake.', 'worker'),
  maxTokens: 2_048,
};
const answer: ModelAnswer = {
  text: 'ok',
  stopReason: 'end_turn',
  content: [],
  call: {
    model: 'claude-haiku-4-5',
    usage: { inputTokens: 700, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0 },
    costUsd: 0.001,
  },
  headers: new Headers(rateLimitHeaders(new Date(), false, 60)),
};

/** µs of CPU per call over one round, on a fresh Admission whose books one answer has taught. */
async function round(on: boolean): Promise<number> {
  const admission = new Admission(on ? {} : { setting: 'off' });
  const send = () => Promise.resolve(answer);
  // The first call of a family, with nothing learned, would ask the shared limiter: pace alone instead.
  admission.drain();
  await admission.run(call, send);
  const t0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await admission.run(call, send);
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / CALLS;
}

async function main(): Promise<void> {
  const on: number[] = [];
  const off: number[] = [];
  // The first two rounds warm up the JIT and the module loader's thread (process CPU counts every thread).
  for (let i = 0; i < rounds + 2; i++) {
    const a = await round(true);
    const b = await round(false);
    if (i < 2) continue;
    on.push(a);
    off.push(b);
  }
  console.log(`shared context ${sharedChars} characters, ${CALLS} calls a round, ${rounds} rounds:`);
  console.log(`  admission on:  ${fmt(stat(on), 1, ' µs')} CPU per call`);
  console.log(`  admission off: ${fmt(stat(off), 1, ' µs')} CPU per call`);
}

void new MockActivityEnvironment().run(main);
