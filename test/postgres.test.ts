/**
 * Production-like: the real Temporal server (v1.29.1, built from its Go module) on the machine's
 * PostgreSQL, with encryption on, a renga worker process and the renga client. Skipped, saying
 * why, when PostgreSQL is not at 127.0.0.1:5432 or the server cannot be built (no Go).
 */
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, getResult, startJob } from '../client/api';
import { newKeyLine } from '../shared/codec';
import { loadClientConfig } from '../shared/config';
import { startSimulator } from '../simulator/server';
import type { Simulator } from '../simulator/types';
import { ensureServerBinaries, startPostgresTemporal, type PostgresTemporal } from '../temporal/postgres-server';
import { REPO } from './helpers/stack';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const pgReady = spawnSync('pg_isready', ['-h', PG.host, '-p', String(PG.port)]).status === 0;
const goReady = spawnSync('go', ['version']).status === 0;
const why = !pgReady
  ? 'PostgreSQL is not accepting connections at 127.0.0.1:5432'
  : !goReady
    ? 'Go is not installed to build the Temporal server'
    : null;
if (why) console.warn(`SKIPPED test/postgres.test.ts: ${why}`);
const maybe = why ? test.skip : test;

let server: PostgresTemporal | undefined;
let sim: Simulator | undefined;
let tmp: string | undefined;
afterAll(async () => {
  await server?.stop();
  await sim?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

maybe(
  'a job on a Temporal server backed by PostgreSQL completes, encrypted, and its history lives in PostgreSQL',
  async () => {
    const bins = ensureServerBinaries((l) => console.log(l));
    server = await startPostgresTemporal({ pg: PG, dbPrefix: `renga_test_${process.pid}`, bins });
    sim = await startSimulator({ apiKey: 'sim-key' });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'renga-pg-'));
    const env = {
      TEMPORAL_ADDRESS: server.address,
      RENGA_TASK_QUEUE: 'renga-pg',
      RENGA_ENCRYPTION_KEYS: newKeyLine('pg1'),
      RENGA_PAYLOAD_DIR: path.join(tmp, 'payloads'),
      RENGA_BLOB_DIR: path.join(tmp, 'blobs'),
    };
    // The frontend serves before the `default` namespace exists; register it as an operator would.
    const conn = await Connection.connect({ address: server.address });
    await conn.workflowService
      .registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') })
      .catch((e: Error) => {
        if (!/already exists/i.test(e.message)) throw e;
      });
    const worker = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'worker', 'main.ts')], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: os.tmpdir(),
        ...env,
        ANTHROPIC_API_KEY: 'sim-key',
        ANTHROPIC_BASE_URL: sim.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    try {
      const rc = await connect({ ...loadClientConfig(env) });
      // A just-registered namespace can take a moment to reach every frontend cache: retry the start on that error only.
      let id: string | undefined;
      for (let i = 0; !id; i++) {
        try {
          id = await startJob(rc, { job: 'List three facts about PostgreSQL-Canary', maxSubtasks: 3 });
        } catch (err) {
          if (
            i > 100 ||
            !/namespace/i.test(`${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message}`)
          )
            throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const doc = await getResult(rc, id);
      expect(doc.status).toBe('completed');
      await rc.close();

      const history = await new Client({ connection: conn }).workflow.getHandle(id).fetchHistory();
      expect(JSON.stringify(history)).not.toContain('PostgreSQL-Canary');
      const rows = spawnSync(
        'psql',
        ['-h', PG.host, '-U', PG.user, '-d', server.databases[0]!, '-tAc', 'select count(*) from executions'],
        { encoding: 'utf8' },
      );
      expect(Number(rows.stdout.trim())).toBeGreaterThan(0);
    } finally {
      worker.kill('SIGTERM');
      await exited;
      await conn.close();
    }
    // The first run builds the server from its Go module (minutes on 2 cores); later runs reuse it.
  },
  900_000,
);
