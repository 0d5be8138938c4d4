/**
 * A production-shaped Temporal server for tests: the real multi-service server binary (not the
 * CLI's dev server, which only knows SQLite) on PostgreSQL. Both the server and its schema tool
 * are Go modules, built once with `go install` into `.temporal/server-<version>/` and reused.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findRepoRoot } from './binary';
import { freePort, isTemporalReachable } from './dev-server';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';

export class PostgresServerError extends Error {
  override readonly name = 'PostgresServerError';
}

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export interface ServerBinaries {
  server: string;
  sqlTool: string;
}

/** Builds (first time: ~3 min on 2 cores) or finds the server and schema tool. */
export function ensureServerBinaries(log: (line: string) => void = () => undefined): ServerBinaries {
  const dir =
    process.env.RENGA_TEMPORAL_SERVER_DIR ??
    path.join(findRepoRoot(), '.temporal', `server-${TEMPORAL_SERVER_VERSION}`);
  const bins = { server: path.join(dir, 'server'), sqlTool: path.join(dir, 'sql') };
  if (existsSync(bins.server) && existsSync(bins.sqlTool)) return bins;
  // Build into a scratch GOBIN, then rename: a half-finished build never looks usable.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'renga-go-'));
  for (const pkg of ['cmd/server', 'cmd/tools/sql']) {
    log(`go install ${MODULE}/${pkg}@${TEMPORAL_SERVER_VERSION}`);
    const r = spawnSync('go', ['install', `${MODULE}/${pkg}@${TEMPORAL_SERVER_VERSION}`], {
      env: { ...process.env, GOTOOLCHAIN: 'local', GOBIN: scratch },
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new PostgresServerError(`go install ${MODULE}/${pkg} failed: ${r.error?.message ?? r.stderr.slice(-2000)}`);
  }
  mkdirSync(dir, { recursive: true });
  renameSync(path.join(scratch, 'server'), bins.server);
  renameSync(path.join(scratch, 'sql'), bins.sqlTool);
  rmSync(scratch, { recursive: true, force: true });
  return bins;
}

export interface PostgresTemporal {
  address: string;
  namespace: string;
  databases: string[];
  stop(): Promise<void>;
}

function sqlTool(bins: ServerBinaries, pg: PostgresTarget, db: string, args: string[]): void {
  const r = spawnSync(bins.sqlTool, ['--db', db, ...args], {
    env: {
      ...process.env,
      SQL_PLUGIN: 'postgres12',
      SQL_HOST: pg.host,
      SQL_PORT: String(pg.port),
      SQL_USER: pg.user,
      SQL_PASSWORD: pg.password ?? '',
    },
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new PostgresServerError(
      `temporal-sql-tool ${args.join(' ')} on ${db}: ${r.stderr.slice(-2000) || r.stdout.slice(-2000)}`,
    );
}

async function lowFreePort(taken: number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Creates fresh databases named `<prefix>` and `<prefix>_vis`, and starts a server on them. */
export async function startPostgresTemporal(opts: {
  pg: PostgresTarget;
  dbPrefix: string;
  bins: ServerBinaries;
}): Promise<PostgresTemporal> {
  const { pg, bins } = opts;
  const dbs = { main: opts.dbPrefix, vis: `${opts.dbPrefix}_vis` };
  for (const [db, schema] of [
    [dbs.main, 'postgresql/v12/temporal'],
    [dbs.vis, 'postgresql/v12/visibility'],
  ] as const) {
    sqlTool(bins, pg, db, ['drop-database', '--force']);
    sqlTool(bins, pg, db, ['create-database']);
    sqlTool(bins, pg, db, ['setup-schema', '-v', '0.0']);
    sqlTool(bins, pg, db, ['update-schema', '--schema-name', schema]);
  }

  // The cluster_membership table stores ports as SMALLINT: OS-assigned ephemeral ports (≥ 32768) overflow it.
  const ports: number[] = [];
  for (let i = 0; i < 11; i++) ports.push(i % 2 === 1 && i < 8 ? await lowFreePort(ports) : await freePort());
  const [fe, feM, hi, hiM, ma, maM, wo, woM, http, pprof, metrics] = ports as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const root = mkdtempSync(path.join(os.tmpdir(), 'renga-pg-temporal-'));
  mkdirSync(path.join(root, 'config', 'dynamicconfig'), { recursive: true });
  // Namespace registration becomes visible to the frontend quickly instead of after the 10 s cache.
  writeFileSync(
    path.join(root, 'config', 'dynamicconfig', 'dc.yaml'),
    'system.forceSearchAttributesCacheRefreshOnRead:\n  - value: true\nfrontend.namespaceCacheRefreshInterval:\n  - value: 1s\n',
  );
  const store = (db: string, conns: number) => `
      sql:
        pluginName: "postgres12"
        databaseName: "${db}"
        connectAddr: "${pg.host}:${pg.port}"
        connectProtocol: "tcp"
        user: "${pg.user}"
        password: "${pg.password ?? ''}"
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: "1h"`;
  const svc = (grpc: number, member: number, extra = '') => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${member}
      bindOnLocalHost: true${extra}`;
  writeFileSync(
    path.join(root, 'config', 'development.yaml'),
    `log:
  stdout: true
  level: warn
persistence:
  defaultStore: pg-default
  visibilityStore: pg-visibility
  numHistoryShards: 4
  datastores:
    pg-default:${store(dbs.main, 20)}
    pg-visibility:${store(dbs.vis, 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  pprof:
    port: ${pprof}
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "127.0.0.1:${metrics}"
services:
  frontend:${svc(fe, feM, `\n      httpPort: ${http}`)}
  matching:${svc(ma, maM)}
  history:${svc(hi, hiM)}
  worker:${svc(wo, woM)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${fe}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: "${path.join(root, 'config', 'dynamicconfig', 'dc.yaml')}"
  pollInterval: "10s"
`,
  );
  const child: ChildProcess = spawn(
    bins.server,
    ['--root', root, '--config', 'config', '--env', 'development', 'start'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${fe}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(root, { recursive: true, force: true });
    for (const db of [dbs.main, dbs.vis]) {
      try {
        sqlTool(bins, pg, db, ['drop-database', '--force']);
      } catch {
        // Best effort: a leftover test database is harmless and dropped by the next run with the same name.
      }
    }
  };
  const deadline = Date.now() + 120_000;
  while (!(await isTemporalReachable(address, 1_000))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new PostgresServerError(
        `Temporal server on PostgreSQL did not come up at ${address}:\n${out.slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { address, namespace: 'default', databases: [dbs.main, dbs.vis], stop };
}
