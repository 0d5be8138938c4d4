/**
 * Finds or builds a pinned Go program (the Temporal CLI, Jaeger): an explicit env variable, then PATH,
 * then a project-local cache (`.<name>/bin`), then a Go build of the pinned release into that cache
 * (temporal/go-build.ts). Builds take minutes, so they are locked across processes and done once.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { goInstall, type ProgressLine } from './go-build';

/** A build that has held the lock this long is assumed dead (killed terminal, crashed CI step). */
const LOCK_STALE_MS = 30 * 60_000;
const LOCK_POLL_MS = 1_000;

export type BinaryLog = (msg: string) => void;

export interface GoTool {
  /** Binary name, and the cache directory `.<name>/bin` under the repository root. */
  name: string;
  /** What the progress line calls it, e.g. "the Temporal CLI v1.5.1". */
  label: string;
  /** Go package of the main program, e.g. github.com/temporalio/cli/cmd/temporal. */
  pkg: string;
  version: string;
  /**
   * Set when the release's go.mod has `replace` directives: `go install pkg@version` refuses those,
   * so the module is downloaded and the program built inside it, where the replaces apply.
   */
  module?: string;
}

export interface GoToolPaths {
  root: string;
  binDir: string;
  bin: string;
  lock: string;
  buildLog: string;
}

export function goToolPaths(tool: GoTool, root: string = findRepoRoot()): GoToolPaths {
  const base = path.join(root, `.${tool.name}`);
  const binDir = path.join(base, 'bin');
  return {
    root,
    binDir,
    bin: path.join(binDir, process.platform === 'win32' ? `${tool.name}.exe` : tool.name),
    lock: path.join(base, 'build.lock'),
    buildLog: path.join(base, 'go-build.log'),
  };
}

/** `$envVar` when set (and then it must work), else PATH, else the cached build; undefined if none. */
export function findGoTool(tool: GoTool, envVar: string): string | undefined {
  const explicit = process.env[envVar];
  if (explicit !== undefined && explicit !== '') {
    const resolved = path.resolve(explicit);
    // An explicit choice that does not work must not silently turn into a multi-minute build.
    if (!isExecutable(resolved)) throw new Error(`${envVar}=${explicit} is not an executable file`);
    return resolved;
  }
  const onPath = findOnPath(tool.name);
  if (onPath) return onPath;
  const dirs = goToolPaths(tool);
  // A fresh lock means someone is still writing the binary; a file that exists may be half-copied.
  if (isExecutable(dirs.bin) && !lockIsActive(dirs.lock)) return dirs.bin;
  return undefined;
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

export function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string): string | undefined {
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

export function hasGo(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('go', ['version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/** Builds the pinned release into `.<name>/bin` once, waiting for a concurrent builder instead of racing it. */
export async function buildGoTool(
  tool: GoTool,
  log: BinaryLog,
  progress: ProgressLine,
  dirs: GoToolPaths = goToolPaths(tool),
): Promise<string> {
  fs.mkdirSync(dirs.binDir, { recursive: true });
  for (;;) {
    const release = tryAcquireLock(dirs.lock);
    if (release) {
      try {
        // Another process may have finished the build between our check and taking the lock.
        if (isExecutable(dirs.bin)) return dirs.bin;
        await goInstall({
          target: `${tool.pkg}@${tool.version}`,
          ...(tool.module ? { module: tool.module } : {}),
          cwd: dirs.root,
          binDir: dirs.binDir,
          logFile: dirs.buildLog,
          progress,
          label: tool.label,
        });
        if (!isExecutable(dirs.bin)) throw new Error(`the Go build succeeded but ${dirs.bin} is missing`);
        return dirs.bin;
      } finally {
        release();
      }
    }
    log(`Another process is building ${tool.name} (lock ${dirs.lock}); waiting for it to finish.`);
    await waitForLockRelease(dirs.lock);
    if (isExecutable(dirs.bin)) return dirs.bin;
    // The other builder gave up without a binary: take our own turn.
  }
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

export function lockIsActive(lock: string): boolean {
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

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
