/**
 * Every committed history in test/fixtures/ replays against today's workflow code without
 * nondeterminism: a change that would break jobs running when a new worker is deployed fails here.
 * Each fixture is named by the path it covers; record one with `npx tsx test/fixtures/record.ts <scenario>`.
 */
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowBundle } from './helpers/stack';

const FIXTURES = path.join(__dirname, 'fixtures');
const files = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('the fixtures cover every workflow path named in the issue', () => {
  const names = files.map((f) => f.replace(/\.json$/, ''));
  expect(names).toEqual(
    expect.arrayContaining([
      'plain',
      'input-checked',
      'approval',
      'cancel',
      'sharded',
      'sharded-shard',
      'batch-api',
      'batchWorkflow',
      'budget',
      'lanes-by-callback',
    ]),
  );
});

test('every fixture replays without nondeterminism', async () => {
  const histories = files.map((file) => ({
    workflowId: file.replace(/\.json$/, ''),
    history: JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as temporal.api.history.v1.IHistory,
  }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
});
