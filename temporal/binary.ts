import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { goInstall, progressLine, type ProgressLine } from './go-build';

/**
 * The CLI release we build from source. Later tags carry a `replace` directive in go.mod, which
 * `go install pkg@version` refuses, so this stays pinned until that changes upstream.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_BIN_ENV = 'RENGA_TEMPORAL_BIN';

/** A build that has held the lock this long is assumed dead (killed terminal, crashed CI step). */
const LOCK_STALE_MS = 30 * 60_000;
const LOCK_POLL_MS = 1_000;

export type BinaryLog = (msg: string) => void;

export interface EnsureTemporalBinaryOptions {
  log?: BinaryLog;
  /** The one line a first Go build shows (default: stderr); its full output goes to `.temporal/go-build.log`. */
  progress?: ProgressLine;
}

/** Every way of obtaining the CLI failed; `attempts` says why, one entry per source tried. */
export class TemporalBinaryUnavailableError extends Error {
  override readonly name = 'TemporalBinaryUnavailableError';
  constructor(readonly attempts: string[]) {
    super(
      `No Temporal CLI could be found, built or downloaded:\n  - ${attempts.join('\n  - ')}\n` +
        `Install Go (then it is built once into .temporal/bin), put \`temporal\` on PATH, ` +
        `or set ${TEMPORAL_BIN_ENV} to an existing binary.`,
    );
  }
}

const defaultLog: BinaryLog = (msg) => process.stderr.write(`[renga temporal] ${msg}\n`);

/**
 * Returns the absolute path of a runnable `temporal` CLI: `$RENGA_TEMPORAL_BIN`, then PATH, then
 * the project-local build in `.temporal/bin`, then a Go build of the pinned release, then the
 * download the Temporal TS testing package performs itself.
 */
export async function ensureTemporalBinary(opts: EnsureTemporalBinaryOptions = {}): Promise<string> {
  const log = opts.log ?? defaultLog;

  const explicit = process.env[TEMPORAL_BIN_ENV];
  if (explicit !== undefined && explicit !== '') {
    const resolved = path.resolve(explicit);
    if (!isExecutable(resolved)) {
      // An explicit choice that does not work must not silently turn into a multi-minute build.
      throw new Error(`${TEMPORAL_BIN_ENV}=${explicit} is not an executable file`);
    }
    return resolved;
  }

  const onPath = findOnPath('temporal');
  if (onPath) return onPath;

  const root = findRepoRoot();
  const dirs = localDirs(root);
  const attempts: string[] = [];

  // A fresh lock means someone is still writing the binary; a file that exists may be half-copied.
  if (isExecutable(dirs.bin) && !lockIsActive(dirs.lock)) return dirs.bin;

  if (await hasGo()) {
    try {
      return await buildWithGo(dirs, log, opts.progress ?? progressLine(process.stderr, '[renga temporal] '));
    } catch (err) {
      attempts.push(`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}: ${errorMessage(err)}`);
      log(`Go build failed (${errorMessage(err)}); trying the Temporal SDK download instead.`);
    }
  } else {
    attempts.push('`go` is not on PATH, so the pinned CLI cannot be built from source');
  }

  try {
    return await downloadViaTestingPackage(dirs, log);
  } catch (err) {
    attempts.push(`download through @temporalio/testing: ${errorMessage(err)}`);
  }
  throw new TemporalBinaryUnavailableError(attempts);
}

/** The directory holding renga's package.json, whether we run from source or from dist/. */
export function findRepoRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate) && readPackageName(candidate) === 'renga') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json named "renga" above ${start}`);
    dir = parent;
  }
}

interface LocalDirs {
  root: string;
  binDir: string;
  bin: string;
  lock: string;
  buildLog: string;
  downloadDir: string;
}

function localDirs(root: string): LocalDirs {
  const base = path.join(root, '.temporal');
  const binDir = path.join(base, 'bin');
  return {
    root,
    binDir,
    bin: path.join(binDir, process.platform === 'win32' ? 'temporal.exe' : 'temporal'),
    lock: path.join(base, 'build.lock'),
    buildLog: path.join(base, 'go-build.log'),
    downloadDir: path.join(base, 'download'),
  };
}

function readPackageName(file: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed) {
      const name: unknown = parsed.name;
      return typeof name === 'string' ? name : undefined;
    }
  } catch {
    // An unreadable package.json is simply not ours; keep walking up.
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.resolve(dir, name + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

function hasGo(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('go', ['version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

async function buildWithGo(dirs: LocalDirs, log: BinaryLog, progress: ProgressLine): Promise<string> {
  fs.mkdirSync(dirs.binDir, { recursive: true });
  for (;;) {
    const release = tryAcquireLock(dirs.lock);
    if (release) {
      try {
        // Another process may have finished the build between our check and taking the lock.
        if (isExecutable(dirs.bin)) return dirs.bin;
        await runGoInstall(dirs, progress);
        if (!isExecutable(dirs.bin)) throw new Error(`go install succeeded but ${dirs.bin} is missing`);
        return dirs.bin;
      } finally {
        release();
      }
    }
    log(`Another process is building the Temporal CLI (lock ${dirs.lock}); waiting for it to finish.`);
    await waitForLockRelease(dirs.lock);
    if (isExecutable(dirs.bin)) return dirs.bin;
    // The other builder gave up without a binary: take our own turn.
  }
}

async function runGoInstall(dirs: LocalDirs, progress: ProgressLine): Promise<void> {
  await goInstall({
    target: `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`,
    cwd: dirs.root,
    binDir: dirs.binDir,
    logFile: dirs.buildLog,
    progress,
    label: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
  });
}

/** O_EXCL create; returns a release function, or undefined while someone else holds a fresh lock. */
function tryAcquireLock(lock: string): (() => void) | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() }));
      fs.closeSync(fd);
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      if (lockIsActive(lock)) return undefined;
      fs.rmSync(lock, { force: true });
    }
  }
  return undefined;
}

function lockIsActive(lock: string): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(lock);
  } catch {
    return false;
  }
  if (Date.now() - stat.mtimeMs > LOCK_STALE_MS) return false;
  const holder = readLockHolder(lock);
  // A holder on this machine that no longer exists cannot finish; don't make others wait 30 min.
  if (holder && holder.host === os.hostname() && !processExists(holder.pid)) return false;
  return true;
}

function readLockHolder(lock: string): { pid: number; host: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(lock, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const pid: unknown = 'pid' in parsed ? parsed.pid : undefined;
    const host: unknown = 'host' in parsed ? parsed.host : undefined;
    return typeof pid === 'number' && typeof host === 'string' ? { pid, host } : undefined;
  } catch {
    // Written non-atomically by the holder; an unreadable lock counts as held until it goes stale.
    return undefined;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}

async function waitForLockRelease(lock: string): Promise<void> {
  while (lockIsActive(lock)) {
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/**
 * Without Go, let the SDK's native core download the CLI the way `TestWorkflowEnvironment.createLocal`
 * does by default. Core caches it at `<downloadDir>/temporal-sdk-typescript-<sdkVersion>` (with its own
 * cross-process `.downloading` lock), so after one createLocal we know the path and never need the SDK
 * to run the server: the 5 s start limit that made us spawn the server ourselves is irrelevant here.
 */
async function downloadViaTestingPackage(dirs: LocalDirs, log: BinaryLog): Promise<string> {
  const sdkVersion = testingPackageVersion();
  const fileName = `temporal-sdk-typescript-${sdkVersion}${process.platform === 'win32' ? '.exe' : ''}`;
  const ours = path.join(dirs.downloadDir, fileName);
  if (isExecutable(ours)) return ours;
  // The SDK's default cache; a developer who used createLocal before already has it.
  const sdkDefault = path.join(os.tmpdir(), fileName);
  if (isExecutable(sdkDefault)) return sdkDefault;

  fs.mkdirSync(dirs.downloadDir, { recursive: true });
  log(`Go is unavailable: downloading the Temporal CLI through @temporalio/testing into ${dirs.downloadDir}.`);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  let startError: unknown;
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', downloadDir: dirs.downloadDir, ttl: '3650d' },
        ui: false,
      },
    });
    await env.teardown();
  } catch (err) {
    // The download can succeed while the SDK's 5 s server start does not; the file is what we want.
    startError = err;
  }
  if (isExecutable(ours)) return ours;
  throw new Error(`expected ${ours} after the SDK download` + (startError ? `: ${errorMessage(startError)}` : ''));
}

function testingPackageVersion(): string {
  const pkgJson = require.resolve('@temporalio/testing/package.json');
  const parsed: unknown = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') {
    return parsed.version;
  }
  throw new Error(`${pkgJson} has no version`);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
