/**
 * A newcomer's first run: `renga dev --once` against a Temporal server that is not serving yet
 * waits for it instead of failing, and the terminal shows the job (banner, live view, answer, UI
 * link) while worker and SDK logs go to a file. The first Go build of the Temporal CLI shows one
 * progress line and keeps its full output in a log file. Real processes throughout: a real dev
 * server that comes up late, the real CLI as a child process, a stand-in `go` that really runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectWhenServing } from '../temporal/connect';
import { freePort, startDevServer, type DevServer } from '../temporal/dev-server';
import { goInstall, progressLine, type LineStream } from '../temporal/go-build';
import { RENGA_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { REALISTIC_LATENCY, forModel } from '../simulator/latency';
import { REPO, waitUntil } from './helpers/stack';

let tmp: string;
const servers: DevServer[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'renga-first-run-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * A port that is bound but does not speak Temporal yet, as while a server starts: every connection
 * is accepted and dropped. `serve()` closes it and starts a real dev server on the same port.
 */
async function lateServer(): Promise<{ address: string; serve(): Promise<DevServer> }> {
  const port = await freePort();
  const placeholder = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => placeholder.listen(port, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${port}`,
    async serve() {
      await new Promise<void>((resolve) => placeholder.close(() => resolve()));
      const server = await startDevServer({ port, uiPort: null, searchAttributes: RENGA_SEARCH_ATTRIBUTES });
      servers.push(server);
      return server;
    },
  };
}

test('the connect helper keeps retrying until a late server serves', async () => {
  const late = await lateServer();
  const failures: string[] = [];
  let firstFailure: () => void = () => undefined;
  const failedOnce = new Promise<void>((resolve) => (firstFailure = resolve));
  const connecting = connectWhenServing(late.address, {
    deadlineMs: 120_000,
    attemptMs: 5_000,
    onRetry: ({ error }) => {
      failures.push(error.message);
      firstFailure();
    },
  });
  await failedOnce;
  const server = await late.serve();
  const connection = await connecting;
  try {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.serverVersion).toBeTruthy();
    expect(failures.length).toBeGreaterThanOrEqual(1);
  } finally {
    await connection.close();
    await server.stop();
  }
});

test('the connect helper gives up at its deadline with a message naming the address', async () => {
  const port = await freePort();
  const err = await connectWhenServing(`127.0.0.1:${port}`, { deadlineMs: 1_500, attemptMs: 500 }).then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err?.message).toMatch(new RegExp(`^cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(TEMPORAL_ADDRESS\\)`));
  expect(err?.cause).toBeInstanceOf(Error);
});

/** `renga dev <args>` as a user runs it, against the server at `address`; its output collected. */
function runDev(address: string, uiPort: number, dir: string, args: string[]) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    TEMPORAL_ADDRESS: address,
    RENGA_UI_URL: `http://127.0.0.1:${uiPort}`,
    RENGA_BLOB_DIR: path.join(tmp, dir, 'blobs'),
    RENGA_PAYLOAD_DIR: path.join(tmp, dir, 'payloads'),
  };
  if (process.env.RENGA_TEMPORAL_BIN) env.RENGA_TEMPORAL_BIN = process.env.RENGA_TEMPORAL_BIN;
  const db = path.join(tmp, dir, 'dev.db');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'client', 'cli.ts'), 'dev', '--db', db, ...args],
    { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, out, exited };
}

test('renga dev --once waits for a server that is not serving yet, then shows the job, the answer and the UI link', async () => {
  const late = await lateServer();
  const uiPort = await freePort();
  const { out, exited } = runDev(late.address, uiPort, 'dev', ['--once', 'Name three rivers']);

  // The server appears only once renga has said it is waiting for it.
  await waitUntil(() => out.stderr.includes(`waiting for Temporal at ${late.address} to answer`), 'renga dev waits');
  await late.serve();
  const code = await exited;
  const { stdout, stderr } = out;

  const output = `--- stdout\n${stdout}\n--- stderr\n${stderr}`;
  expect({ code, output }).toEqual({ code: 0, output });
  const logFile = path.join(tmp, 'dev', 'dev.log');
  expect(stderr).toContain(`worker, SDK and Temporal server logs: ${logFile}`);
  expect(stderr).toContain('Answers are SIMULATED');
  expect(stdout).toMatch(/^watching renga-name-three-rivers-/m);
  expect(stdout).toMatch(/^s1 done: /m);
  expect(stdout).toMatch(/: completed · \d+\/\d+ subtasks/);
  expect(stdout).toMatch(/^Simulated answer from claude-sonnet-4-6/m);
  expect(stdout).toMatch(
    new RegExp(`^Web UI: http://127\\.0\\.0\\.1:${uiPort}/namespaces/default/workflows/renga-`, 'm'),
  );
  // The SDK's log lines (activity starts with their task tokens, worker state) are in the file, not here.
  expect(`${stdout}${stderr}`).not.toMatch(/\[INFO\]|taskToken|activity started/);
  const log = readFileSync(logFile, 'utf8');
  expect(log).toMatch(/\[INFO\] activity completed/);
  expect(log).toContain('renga worker on ');
});

test('Ctrl-C on `renga dev` (the stack left up after the sample job) stops it cleanly: exit 0, no stack trace', async () => {
  const late = await lateServer();
  await late.serve();
  const { child, out, exited } = runDev(late.address, await freePort(), 'dev-ctrl-c', ['Name two lakes']);
  await waitUntil(() => out.stderr.includes('the stack stays up'), 'the sample job finished and the stack stays up');
  // The SDK's runtime drains the worker on SIGINT too; renga's own stop must not trip over that.
  child.kill('SIGINT');
  const code = await exited;
  const output = `--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}`;
  expect({ code, output }).toEqual({ code: 0, output });
  expect(out.stderr).not.toMatch(/Error| {4}at /);
});

test('the dev simulator answers like the real models: Haiku starts and streams faster than Sonnet', () => {
  const { latencyMs, streamChunkDelayMs } = REALISTIC_LATENCY;
  expect(forModel(latencyMs, 'claude-haiku-4-5')).toBeLessThan(forModel(latencyMs, 'claude-sonnet-4-6'));
  expect(forModel(streamChunkDelayMs, 'claude-haiku-4-5')).toBeLessThan(
    forModel(streamChunkDelayMs, 'claude-sonnet-4-6'),
  );
  expect(forModel(latencyMs, 'claude-sonnet-4-6')).toBeLessThan(forModel(latencyMs, 'claude-opus-4-6'));
});

describe('first Go build of the Temporal CLI', () => {
  /** A stand-in for `go`: prints what `go install -v` prints, then writes the binary (or fails). */
  function fakeGo(fail: boolean): string {
    const file = path.join(tmp, fail ? 'go-fails' : 'go-works');
    const packages = Array.from({ length: 30 }, (_, i) => `echo github.com/example/pkg${i} >&2`).join('\n');
    writeFileSync(
      file,
      [
        '#!/bin/sh',
        'echo "go: downloading github.com/example/pkg v1.0.0" >&2',
        packages,
        fail
          ? 'echo "compile: something broke" >&2; exit 2'
          : 'mkdir -p "$GOBIN"; printf "#!/bin/sh\\n" > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"',
      ].join('\n'),
    );
    chmodSync(file, 0o755);
    return file;
  }

  function terminal(isTTY: boolean): LineStream & { text: () => string } {
    const chunks: string[] = [];
    return {
      isTTY,
      columns: 80,
      write: ((s: string) => chunks.push(s) > 0) as LineStream['write'],
      text: () => chunks.join(''),
    };
  }

  test('on a terminal: one line rewritten in place, and every line of go output in the log file', async () => {
    const term = terminal(true);
    const binDir = path.join(tmp, 'bin-tty');
    const logFile = path.join(tmp, 'go-build-tty.log');
    await goInstall({
      target: 'github.com/example/cmd@v1.0.0',
      cwd: tmp,
      binDir,
      logFile,
      progress: progressLine(term),
      label: 'the Temporal CLI',
      go: fakeGo(false),
    });
    expect(existsSync(path.join(binDir, 'temporal'))).toBe(true);
    const shown = term.text();
    // One line: redraws start with a carriage return, only the final state ends it.
    expect(shown.split('\n').filter(Boolean)).toHaveLength(1);
    expect(shown.endsWith('\n')).toBe(true);
    expect(shown).toMatch(/built the Temporal CLI in \d+ s \(30 packages; log .*go-build-tty\.log\)\n$/);
    // Redraws are cut to the terminal's width, so none wraps (a wrapped line cannot be redrawn).
    const redraws = shown.split('\r').slice(0, -1);
    expect(redraws.length).toBeGreaterThanOrEqual(1);
    for (const r of redraws) expect(r.replace('\x1b[2K', '').length).toBeLessThan(80);
    const log = readFileSync(logFile, 'utf8').trim().split('\n');
    expect(log).toHaveLength(31);
    expect(log[0]).toBe('go: downloading github.com/example/pkg v1.0.0');
  });

  test('in a pipe: a start line and an end line; a failure names the log and keeps the last lines', async () => {
    const term = terminal(false);
    const logFile = path.join(tmp, 'go-build-pipe.log');
    const err = await goInstall({
      target: 'github.com/example/cmd@v1.0.0',
      cwd: tmp,
      binDir: path.join(tmp, 'bin-pipe'),
      logFile,
      progress: progressLine(term, '[renga temporal] '),
      label: 'the Temporal CLI',
      go: fakeGo(true),
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('GoBuildFailedError');
    expect(err?.message).toContain(`full log: ${logFile}`);
    expect(err?.message).toContain('compile: something broke');
    const lines = term.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[renga temporal\] building the Temporal CLI with Go/);
    expect(lines[1]).toMatch(/^\[renga temporal\] building the Temporal CLI failed after \d+ s; log /);
    expect(readFileSync(logFile, 'utf8')).toContain('compile: something broke');
  });
});
